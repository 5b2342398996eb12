// Package version holds the version the provider reports; build.sh stamps it with
// `-X stageline.local/tools/docker-provider/version.Version=<pulumi-docker pin>` so the engine's
// plugin request for the SDK's version (its pulumi-plugin.json) finds this binary.
package version

// Version is stamped at link time; unstamped builds say so.
var Version = "0.0.0-unstamped"
