// Command pulumi-tfgen-docker writes the Pulumi schema of the bridged provider (`schema --out
// DIR`), which the provider binary then embeds; build.sh runs it between the two builds.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"stageline.local/tools/docker-provider/mapping"
	"stageline.local/tools/docker-provider/version"
)

func main() {
	tfgen.Main("docker", version.Version, mapping.Info(version.Version))
}
