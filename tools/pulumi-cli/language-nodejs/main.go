// pulumi-language-nodejs: a small Node.js language host for the Pulumi engine.
// Built by this repository's scripts/pulumi-cli.sh (see ../README.md): the
// upstream language host module is not available from the Go module proxy.
// It speaks the LanguageRuntime gRPC protocol of github.com/pulumi/pulumi/sdk/v3
// and starts the entry points shipped in the @pulumi/pulumi npm package
// (cmd/run, cmd/run-plugin, cmd/run-policy-pack).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Exit code used by @pulumi/pulumi when it already showed an actionable message.
const bailExitCode = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	// Defaults from command-line flags (older engines pass runtime options this way).
	flagOptions map[string]any
}

func main() {
	var tracing, root, nodeargs, tsconfig, packagemanager string
	var typescript bool
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.StringVar(&root, "root", "", "Project root path (unused)")
	flag.BoolVar(&typescript, "typescript", true, "Run TypeScript sources through ts-node")
	flag.StringVar(&nodeargs, "nodeargs", "", "Extra arguments for node")
	flag.StringVar(&tsconfig, "tsconfig", "", "Path to tsconfig.json")
	flag.StringVar(&packagemanager, "packagemanager", "", "npm, yarn, pnpm or bun")
	// -v and --logtostderr (passed by the engine) are registered by the logging package.
	flag.Parse()
	logging.InitLogging(false, 0, false)

	h := &host{tracing: tracing, flagOptions: map[string]any{}}
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "typescript":
			h.flagOptions["typescript"] = typescript
		case "nodeargs":
			h.flagOptions["nodeargs"] = nodeargs
		case "tsconfig":
			h.flagOptions["tsconfig"] = tsconfig
		case "packagemanager":
			h.flagOptions["packagemanager"] = packagemanager
		}
	})
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[0]
	}
	go watchParent()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "error: language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

// children holds the node processes started for the engine (*exec.Cmd).
var children sync.Map

// startTracked starts cmd and remembers it until the returned func is called.
func startTracked(cmd *exec.Cmd) (func(), error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	children.Store(cmd, struct{}{})
	return func() { children.Delete(cmd) }, nil
}

// watchParent exits (stopping the node processes started for the engine) when the
// engine that launched this host goes away without shutting it down, e.g. when
// `pulumi` was killed.
func watchParent() {
	ppid := os.Getppid()
	if ppid <= 1 {
		return
	}
	for range time.Tick(time.Second) {
		if os.Getppid() != ppid {
			children.Range(func(k, _ any) bool {
				if c := k.(*exec.Cmd); c.Process != nil {
					_ = c.Process.Kill()
				}
				return true
			})
			os.Exit(1)
		}
	}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// options merges the runtime options of Pulumi.yaml / PulumiPolicy.yaml over the flag defaults.
func (h *host) options(info *pulumirpc.ProgramInfo) map[string]any {
	opts := map[string]any{}
	for k, v := range h.flagOptions {
		opts[k] = v
	}
	if info != nil && info.GetOptions() != nil {
		for k, v := range info.GetOptions().AsMap() {
			opts[k] = v
		}
	}
	return opts
}

func optString(opts map[string]any, key string) string {
	if s, ok := opts[key].(string); ok {
		return s
	}
	return ""
}

func optBool(opts map[string]any, key string, def bool) bool {
	switch v := opts[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return def
}

type pulumiProgram struct {
	root, dir, entry string
}

func programOf(info *pulumirpc.ProgramInfo, pwd, program string) *pulumiProgram {
	p := &pulumiProgram{}
	if info != nil {
		p.root, p.dir, p.entry = info.GetRootDirectory(), info.GetProgramDirectory(), info.GetEntryPoint()
	}
	if p.dir == "" {
		p.dir = pwd
	}
	if p.dir == "" {
		p.dir, _ = os.Getwd()
	}
	if p.entry == "" {
		p.entry = program
	}
	if p.entry == "" {
		p.entry = "."
	}
	return p
}

// resolveModule asks node where a module of @pulumi/pulumi lives, as seen from dir.
func resolveModule(nodeBin, dir, module string) (string, error) {
	script := fmt.Sprintf("console.log(require.resolve(%q, {paths: [process.cwd()]}))", module)
	cmd := exec.Command(nodeBin, "-e", script)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not find %s from %s (have you run npm install?): %v: %s",
			module, dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) nodeEnv(base []string, opts map[string]any) []string {
	env := append([]string{}, base...)
	if optBool(opts, "typescript", true) {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if ts := optString(opts, "tsconfig"); ts != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}
	return env
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	prog := programOf(req.GetInfo(), req.GetPwd(), req.GetProgram())
	opts := h.options(req.GetInfo())

	runPath, err := resolveModule(nodeBin, prog.dir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "It looks like the Pulumi SDK has not been installed. " + err.Error()}, nil
	}

	args := append(strings.Fields(optString(opts, "nodeargs")), runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine())
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	pwd := req.GetPwd()
	if pwd == "" {
		pwd = prog.dir
	}
	add("pwd", pwd)
	add("root-directory", prog.root)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", fmt.Sprint(req.GetParallel()))
	add("tracing", h.tracing)
	entry := prog.entry
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(prog.dir, entry)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := h.nodeEnv(os.Environ(), opts)
	env = append(env, "PULUMI_CONFIG="+string(configJSON), "PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON))

	logging.V(5).Infof("Language host launching process: %s %s", nodeBin, strings.Join(args, " "))
	cmd := exec.Command(nodeBin, args...)
	cmd.Dir = pwd
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	done, err := startTracked(cmd)
	if err != nil {
		return &pulumirpc.RunResponse{
			Error: "Problem executing program (could not run language executor): " + err.Error(),
		}, nil
	}
	err = cmd.Wait()
	done()
	if err != nil {
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			switch code := exitErr.ExitCode(); code {
			case bailExitCode:
				return &pulumirpc.RunResponse{Bail: true}, nil
			case 0:
				return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + err.Error()}, nil
			default:
				return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
			}
		}
		return &pulumirpc.RunResponse{
			Error: "Problem executing program (could not run language executor): " + err.Error(),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// streamWriter forwards process output to a gRPC stream.
type streamWriter struct {
	mu   *sync.Mutex
	send func([]byte) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append([]byte(nil), p...)
	if err := w.send(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	prog := programOf(req.GetInfo(), req.GetPwd(), req.GetProgram())
	opts := h.options(req.GetInfo())

	var entry string
	var args []string
	switch req.GetKind() {
	case "analyzer":
		// run-policy-pack <engine-address> <policy pack directory>; the engine address is the
		// last plugin argument.
		entry, err = resolveModule(nodeBin, prog.dir, "@pulumi/pulumi/cmd/run-policy-pack")
		if err != nil {
			return err
		}
		args = append(args, req.GetArgs()...)
		args = append(args, prog.dir)
	default:
		// Providers and other plugins: run-plugin <plugin directory> <plugin args...>
		entry, err = resolveModule(nodeBin, prog.dir, "@pulumi/pulumi/cmd/run-plugin")
		if err != nil {
			return err
		}
		args = append(args, "--", prog.dir)
		args = append(args, req.GetArgs()...)
	}
	full := append(strings.Fields(optString(opts, "nodeargs")), entry)
	full = append(full, args...)

	base := req.GetEnv()
	if len(base) == 0 {
		base = os.Environ()
	}
	cmd := exec.Command(nodeBin, full...)
	cmd.Dir = prog.dir
	cmd.Env = h.nodeEnv(base, opts)
	var mu sync.Mutex
	cmd.Stdout = streamWriter{&mu, func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	}}
	cmd.Stderr = streamWriter{&mu, func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	}}
	logging.V(5).Infof("Language host launching plugin: %s %s", nodeBin, strings.Join(full, " "))
	done, err := startTracked(cmd)
	if err != nil {
		return err
	}
	defer done()
	// The engine cancels the stream to stop the plugin.
	exited := make(chan struct{})
	defer close(exited)
	go func() {
		select {
		case <-server.Context().Done():
			_ = cmd.Process.Kill()
		case <-exited:
		}
	}()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
	}
	mu.Lock()
	defer mu.Unlock()
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   string `json:"value"`
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// nodeModulesPackages lists the package.json files of the packages installed in the
// node_modules folders that Node would search from dir.
func nodeModulesPackages(dir string) []string {
	var out []string
	seen := map[string]bool{}
	for d := dir; ; d = filepath.Dir(d) {
		nm := filepath.Join(d, "node_modules")
		entries, _ := os.ReadDir(nm)
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			if strings.HasPrefix(name, "@") {
				scoped, _ := os.ReadDir(filepath.Join(nm, name))
				for _, s := range scoped {
					full := name + "/" + s.Name()
					if !seen[full] {
						seen[full] = true
						out = append(out, filepath.Join(nm, name, s.Name(), "package.json"))
					}
				}
				continue
			}
			if !seen[name] {
				seen[name] = true
				out = append(out, filepath.Join(nm, name, "package.json"))
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return out
}

func pluginNameOf(p *packageJSON) string {
	if p.Pulumi != nil && p.Pulumi.Name != "" {
		return p.Pulumi.Name
	}
	name := strings.TrimPrefix(p.Name, "@pulumi/")
	return strings.TrimPrefix(name, "@")
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	prog := programOf(req.GetInfo(), "", "")
	var pkgs []*pulumirpc.PackageDependency
	seen := map[string]bool{}
	for _, path := range nodeModulesPackages(prog.dir) {
		p, err := readPackageJSON(path)
		if err != nil || p.Pulumi == nil || !p.Pulumi.Resource {
			continue
		}
		v := p.Pulumi.Version
		if v == "" {
			v = p.Version
		}
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		dep := &pulumirpc.PackageDependency{
			Name: pluginNameOf(p), Kind: "resource", Version: v, Server: p.Pulumi.Server,
		}
		if pz := p.Pulumi.Parameterization; pz != nil {
			value, err := base64.StdEncoding.DecodeString(pz.Value)
			if err != nil {
				return nil, fmt.Errorf("parameterization value in %s: %w", path, err)
			}
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: pz.Name, Version: pz.Version, Value: value,
			}
		}
		key := dep.Name + "@" + dep.Version
		if dep.Parameterization != nil {
			key += "/" + dep.Parameterization.Name + "@" + dep.Parameterization.Version
		}
		if !seen[key] {
			seen[key] = true
			pkgs = append(pkgs, dep)
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	resp, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: req.GetInfo()})
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, p := range resp.GetPackages() {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.GetName(), Kind: p.GetKind(), Version: p.GetVersion(), Server: p.GetServer(),
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	prog := programOf(req.GetInfo(), req.GetPwd(), req.GetProgram())
	var deps []*pulumirpc.DependencyInfo
	if req.GetTransitiveDependencies() {
		for _, path := range nodeModulesPackages(prog.dir) {
			if p, err := readPackageJSON(path); err == nil && p.Name != "" {
				deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
			}
		}
	} else {
		root, err := readPackageJSON(filepath.Join(prog.dir, "package.json"))
		if err != nil {
			return &pulumirpc.GetProgramDependenciesResponse{}, nil
		}
		names := map[string]bool{}
		for n := range root.Dependencies {
			names[n] = true
		}
		for n := range root.DevDependencies {
			names[n] = true
		}
		for _, path := range nodeModulesPackages(prog.dir) {
			if p, err := readPackageJSON(path); err == nil && names[p.Name] {
				deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
				delete(names, p.Name)
			}
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("failed to get node version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) RuntimeOptionsPrompts(ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	prog := programOf(req.GetInfo(), req.GetDirectory(), "")
	opts := h.options(req.GetInfo())
	pm := optString(opts, "packagemanager")
	if pm == "" || pm == "auto" {
		pm = "npm"
		for lock, tool := range map[string]string{"yarn.lock": "yarn", "pnpm-lock.yaml": "pnpm", "bun.lockb": "bun", "bun.lock": "bun"} {
			if _, err := os.Stat(filepath.Join(prog.dir, lock)); err == nil {
				pm = tool
			}
		}
	}
	bin, err := exec.LookPath(pm)
	if err != nil {
		return fmt.Errorf("could not find %s on the $PATH: %w", pm, err)
	}
	cmd := exec.Command(bin, "install")
	cmd.Dir = prog.dir
	var mu sync.Mutex
	cmd.Stdout = streamWriter{&mu, func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	}}
	cmd.Stderr = streamWriter{&mu, func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	}}
	done, err := startTracked(cmd)
	if err != nil {
		return err
	}
	defer done()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s install failed: %w", pm, err)
	}
	return nil
}
