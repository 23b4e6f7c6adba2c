// Command sdkgen generates the Python and Go SDKs of a Pulumi package from its schema,
// with the codegen packages of github.com/pulumi/pulumi/pkg/v3 run in-process (so no
// language host and no `pulumi package gen-sdk` are needed).
//
// Usage:
//
//	sdkgen -schema provider/schema.json -python sdk/python -go sdk/go
//
// -python receives the Python package (pyproject.toml, README.md, <packageName>/...).
// -go receives the Go packages under <last element of language.go.importBasePath>/ and
// a go.mod for module path.Dir(importBasePath) that requires github.com/pulumi/pulumi/sdk/v3
// at the version this tool was built with (run `go mod tidy` there for go.sum).
// Either output may be omitted. Existing files are overwritten, others left alone: clear
// the output directories first (scripts/gen-sdk.sh does). Files are written in sorted
// order and the output depends only on the schema and the pkg/v3 version.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// tool is the generator name the codegen writes into the generated files' headers.
const tool = "pulumi-aws-key-rotation/tools/sdkgen"

const pulumiSDK = "github.com/pulumi/pulumi/sdk/v3"

// noLoader refuses every package reference: the schema must be self-contained (its only
// outside references may be the built-in pulumi.json types).
type noLoader struct{}

var _ schema.ReferenceLoader = noLoader{}

func refused(name string) error {
	return fmt.Errorf("schema refers to package %q: sdkgen loads no other packages", name)
}

func (noLoader) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, refused(pkg)
}

func (noLoader) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, refused(d.Name)
}

func (noLoader) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, refused(pkg)
}

func (noLoader) LoadPackageReferenceV2(
	_ context.Context, d *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return nil, refused(d.Name)
}

// bind validates the schema against the metaschema and binds it. Each generator gets its
// own binding, as generation imports language info into the package.
func bind(data []byte) (*schema.Package, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, noLoader{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind schema: %w", err)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("schema is invalid: %w", diags)
	}
	for _, d := range diags {
		fmt.Fprintf(os.Stderr, "sdkgen: warning: %s\n", d.Error())
	}
	return pkg, nil
}

// write stores files under dir, in sorted order; paths must stay inside dir.
func write(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rel := filepath.FromSlash(path.Clean(filepath.ToSlash(name)))
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("generated path %q is outside the output directory", name)
		}
		target := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pulumiSDKVersion is the sdk/v3 version this tool was built with, which the Go SDK's
// go.mod requires.
func pulumiSDKVersion() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("no build info: build sdkgen as a module")
	}
	for _, dep := range info.Deps {
		if dep.Path == pulumiSDK {
			if dep.Replace != nil {
				return "", fmt.Errorf("%s is replaced in sdkgen's go.mod; need a released version", pulumiSDK)
			}
			return dep.Version, nil
		}
	}
	return "", fmt.Errorf("%s is not in sdkgen's build info", pulumiSDK)
}

func genPython(data []byte, out string) error {
	pkg, err := bind(data)
	if err != nil {
		return err
	}
	files, err := pygen.GeneratePackage(tool, pkg, nil, noLoader{})
	if err != nil {
		return fmt.Errorf("generate Python SDK: %w", err)
	}
	// pyproject.toml names README.md (next to it) as the readme, but the codegen writes it
	// into the package folder only: copy it up, as the published Pulumi SDKs have it.
	info, _ := pkg.Language["python"].(pygen.PackageInfo)
	if readme, ok := files[path.Join(info.PackageName, "README.md")]; ok && info.PackageName != "" {
		if _, exists := files["README.md"]; !exists {
			files["README.md"] = readme
		}
	}
	return write(out, files)
}

func genGo(data []byte, out string) error {
	pkg, err := bind(data)
	if err != nil {
		return err
	}
	files, err := gogen.GeneratePackage(tool, pkg, nil)
	if err != nil {
		return fmt.Errorf("generate Go SDK: %w", err)
	}
	info, _ := pkg.Language["go"].(gogen.GoPackageInfo)
	if info.ImportBasePath == "" {
		return errors.New("schema has no language.go.importBasePath")
	}
	if _, ok := files["go.mod"]; ok {
		return errors.New("the Go codegen wrote a go.mod itself (supportPack?); sdkgen writes its own")
	}
	version, err := pulumiSDKVersion()
	if err != nil {
		return err
	}
	modulePath := info.ModulePath
	if modulePath == "" {
		modulePath = path.Dir(info.ImportBasePath)
	}
	if rel, ok := strings.CutPrefix(info.ImportBasePath, modulePath+"/"); !ok || rel != path.Base(info.ImportBasePath) {
		return fmt.Errorf("importBasePath %q must be one element below module %q", info.ImportBasePath, modulePath)
	}
	files["go.mod"] = fmt.Appendf(nil, "module %s\n\ngo 1.25\n\nrequire %s %s\n", modulePath, pulumiSDK, version)
	return write(out, files)
}

func main() {
	schemaPath := flag.String("schema", "", "path of the package schema (JSON)")
	pyOut := flag.String("python", "", "output directory of the Python SDK")
	goOut := flag.String("go", "", "output directory of the Go SDK (the folder of its go.mod)")
	flag.Parse()
	if *schemaPath == "" || (*pyOut == "" && *goOut == "") || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: sdkgen -schema schema.json [-python dir] [-go dir]")
		os.Exit(2)
	}
	data, err := os.ReadFile(*schemaPath)
	if err == nil && *pyOut != "" {
		err = genPython(data, *pyOut)
	}
	if err == nil && *goOut != "" {
		err = genGo(data, *goOut)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdkgen: %v\n", err)
		os.Exit(1)
	}
}
