// Command pulumi-language-python is stageline's Python language host for the engine lane.
//
// Why our own: the Go module proxy these machines reach answers 403 for every version of
// github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 (it has no tags, and the
// proxy serves none of its pseudo-versions; see tools/engine/README.md), so Pulumi's own host
// cannot be built here. This host does the part of that job the engine lane needs: it speaks the
// LanguageRuntime gRPC protocol of sdk/v3 (proto/go/language_grpc.pb.go) and runs the program with
// the virtualenv's Python and Pulumi's own `pulumi-language-python-exec` launcher (shipped in the
// sdk/v3 module and copied beside this binary by `make engine`), which configures the real Python
// SDK runtime against the engine's resource monitor. Everything the program does therefore goes
// through the real engine; this file only starts Python and reports how it ended.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped by `make engine` (-X main.version=...), the engine release it ships with.
var version = "0.0.0-dev"

// actionableExitCode is the exec launcher's "an error was already shown to the user" code
// (PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE in that script).
const actionableExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	execPath      string
}

func main() {
	// The engine passes its own flags (e.g. -root, -tracing) before the engine address; accept and
	// ignore the ones this host has no use for.
	flags := flag.NewFlagSet("pulumi-language-python", flag.ContinueOnError)
	flags.String("tracing", "", "tracing endpoint (ignored)")
	flags.String("root", "", "project root (ignored; taken from each request)")
	flags.String("virtualenv", "", "virtualenv (ignored; taken from Pulumi.yaml options)")
	flags.String("toolchain", "", "toolchain (ignored)")
	flags.String("typechecker", "", "type checker (ignored)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if flags.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "pulumi-language-python: missing the engine address argument")
		os.Exit(2)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	h := &host{
		engineAddress: flags.Arg(0),
		execPath:      filepath.Join(filepath.Dir(self), "pulumi-language-python-exec"),
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Println(handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// python returns the interpreter of the project's virtualenv (runtime.options.virtualenv,
// relative to the project root), or python3 from PATH when the project names none.
func python(info *pulumirpc.ProgramInfo) string {
	if info == nil || info.GetOptions() == nil {
		return "python3"
	}
	venv, ok := info.GetOptions().AsMap()["virtualenv"].(string)
	if !ok || venv == "" {
		return "python3"
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(info.GetRootDirectory(), venv)
	}
	return filepath.Join(venv, "bin", "python")
}

// pluginManifest is the pulumi-plugin.json each provider SDK ships in its Python package.
type pluginManifest struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// GetRequiredPackages lists the resource plugins of the provider SDKs installed in the
// virtualenv, read from their pulumi-plugin.json manifests (as Pulumi's host does).
func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	py := python(req.GetInfo())
	manifests, err := filepath.Glob(filepath.Join(
		filepath.Dir(filepath.Dir(py)), "lib", "python3*", "site-packages", "*", "pulumi-plugin.json"))
	if err != nil {
		return nil, err
	}
	var packages []*pulumirpc.PackageDependency
	for _, path := range manifests {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var m pluginManifest
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !m.Resource || m.Name == "" {
			continue
		}
		packages = append(packages, &pulumirpc.PackageDependency{
			Kind: "resource", Name: m.Name, Version: m.Version, Server: m.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// runArgs builds the exec launcher's command line (its argparse flags).
func (h *host) runArgs(req *pulumirpc.RunRequest) []string {
	info := req.GetInfo()
	program := req.GetProgram() //nolint:staticcheck // older engines send only this field
	if info != nil && info.GetEntryPoint() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args := []string{
		"-u", h.execPath,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	// A stack with no config at all must reach the SDK as {}, not null (set_all_config reads it
	// as a mapping).
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python(req.GetInfo()), h.runArgs(req)...)
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secrets),
	)
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == actionableExitCode:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("the Python program exited with code %d", exitErr.ExitCode()),
		}, nil
	default:
		return &pulumirpc.RunResponse{Error: "could not start Python: " + err.Error()}, nil
	}
}

// RunPlugin runs a plugin written in Python, here the CrossGuard policy pack: the engine gives
// the pack's directory (its PulumiPolicy.yaml options name the virtualenv), the arguments and the
// whole environment; stdout and stderr stream back, then the exit code.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	info := req.GetInfo()
	program := req.GetProgram() //nolint:staticcheck // older engines send only this field
	if info != nil && info.GetProgramDirectory() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	cmd := exec.CommandContext(stream.Context(), python(info), append([]string{"-u", program},
		req.GetArgs()...)...)
	cmd.Dir = req.GetPwd()
	if len(req.GetEnv()) > 0 {
		cmd.Env = req.GetEnv()
	}
	var mu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(r)
	}
	cmd.Stdout = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: append([]byte(nil), p...)},
		})
	})
	cmd.Stderr = writerFunc(func(p []byte) error {
		return send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: append([]byte(nil), p...)},
		})
	})
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not start the plugin %s: %w", program, err)
		}
		code = int32(exitErr.ExitCode())
	}
	return send(&pulumirpc.RunPluginResponse{
		Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code},
	})
}

// writerFunc adapts a send function to io.Writer for a child's stdout or stderr.
type writerFunc func([]byte) error

func (f writerFunc) Write(p []byte) (int, error) {
	if err := f(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(
	_ *pulumirpc.InstallDependenciesRequest,
	_ grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	// The lane's copy of the project shares the repository's ready .venv (make plan built it).
	return nil
}

func (h *host) About(
	_ context.Context, req *pulumirpc.AboutRequest,
) (*pulumirpc.AboutResponse, error) {
	py := python(req.GetInfo())
	out, err := exec.Command(py, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", py, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: py,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "Python "),
	}, nil
}

func (h *host) GetProgramDependencies(
	context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}
