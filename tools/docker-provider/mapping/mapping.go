// Package mapping maps the upstream Terraform docker provider onto the Pulumi package `docker`,
// with the type tokens and property names of the pulumi-docker SDK the program is pinned to.
//
// Facts (tokens, renames, autonaming) are from pulumi/pulumi-docker's provider/resources.go; the
// hand-written Image resource of that package (native, not bridged) is not served here.
package mapping

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	bridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/pulumishim"
)

const (
	pkg = "docker"
	mod = "index"
)

// resource is the token of a resource in the package's one module, `docker:index/<camel>:<Name>`.
func resource(name string) tokens.Type {
	return tokens.Type(pkg + ":" + mod + "/" + lowerFirst(name) + ":" + name)
}

// function is the token of a data source, `docker:index/<name>:<name>`.
func function(name string) tokens.ModuleMember {
	return tokens.ModuleMember(pkg + ":" + mod + "/" + name + ":" + name)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}

// Info returns the bridge's description of the provider; version is what it reports.
func Info(version string) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(pulumishim.NewProvider(version)),
		Name:        pkg,
		Version:     version,
		Description: "A Pulumi package for interacting with Docker, bridged from kreuzwerker/docker.",
		Keywords:    []string{"pulumi", "docker"},
		License:     "Apache-2.0",
		GitHubOrg:   "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"DOCKER_HOST"}}},
			// A list in the SDK, under a singular name.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_config": {Tok: resource("ServiceConfig")},
			"docker_container": {
				Tok: resource("Container"),
				// A container's name is unique per host, so a replacement must delete first.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command (argv), not a plural of it; the SDK keeps both names as is.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    resource("RemoteImage"),
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_network":        {Tok: resource("Network")},
			"docker_secret":         {Tok: resource("Secret")},
			"docker_service":        {Tok: resource("Service")},
			"docker_volume":         {Tok: resource("Volume")},
			"docker_registry_image": {Tok: resource("RegistryImage")},
			"docker_plugin":         {Tok: resource("Plugin")},
			"docker_tag":            {Tok: resource("Tag")},
			"docker_buildx_builder": {Tok: resource("BuildxBuilder")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_network":        {Tok: function("getNetwork")},
			"docker_registry_image": {Tok: function("getRegistryImage")},
			"docker_plugin":         {Tok: function("getPlugin")},
			"docker_image":          {Tok: function("getRemoteImage")},
			"docker_logs":           {Tok: function("getLogs")},
			"docker_registry_image_manifests": {
				Tok: function("getRegistryImageManifests"),
			},
		},
	}
	// Whatever upstream adds later lands in the same module under the standard token scheme.
	info.MustComputeTokens(bridgetokens.SingleModule("docker_", mod, bridgetokens.MakeStandard(pkg)))
	// A `name` the program leaves out becomes `<resource name>-<random suffix>`, as the SDK does,
	// so two stacks can share one Docker host.
	info.SetAutonaming(255, "-")
	return info
}
