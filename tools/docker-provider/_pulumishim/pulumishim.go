// Package pulumishim is copied at build time into the fetched copy of the upstream Terraform
// provider module (as its `pulumishim` package), because only a package inside that module may
// import its `internal/provider` package. It is not compiled where it lies in this repository.
package pulumishim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns upstream's SDKv2 provider; version is what it reports in its user agent.
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
