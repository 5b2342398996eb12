// Command pulumi-resource-docker serves the bridged docker provider to the Pulumi engine.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"stageline.local/tools/docker-provider/mapping"
	"stageline.local/tools/docker-provider/version"
)

// Written by pulumi-tfgen-docker in build.sh before this package is compiled.
//
//go:embed schema.json
var schema []byte

func main() {
	tfbridge.Main("docker", version.Version, mapping.Info(version.Version), schema)
}
