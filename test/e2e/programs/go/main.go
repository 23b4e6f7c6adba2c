// A Go program that rotates one IAM user's access keys with the generated SDK
// (sdk/go/keyrotation) through the Automation API, as an inline program.
//
// Usage: rotate COMMAND WORK_DIR STACK USER_NAME
//
//	COMMAND   preview, up or destroy
//	WORK_DIR  folder with the Pulumi.yaml that names the project and declares the keyrotation
//	          plugin (plugins.providers[].path: the repository's provider/): the in-process
//	          language server of an inline program reports no required packages
//	STACK     the stack (created when missing)
//	USER_NAME the IAM user whose keys rotate
//
// The CLI and its environment (backend, passphrase, AWS endpoints) come from the caller. The
// engine's progress goes to stderr as it comes; the last line on stdout is the result:
//
//	KEYROTATION_E2E_RESULT {"command", "steps", "changes", "outputs"}
//
// steps: "<op> <resource name>" of every planned or performed step except same, read and the
// stack, sorted; changes: the operation counts of the summary; outputs (up only): the stack
// outputs, a secret one as "[secret]" (never its value).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi-aws-key-rotation/pulumi-aws-key-rotation/sdk/go/keyrotation/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const resultPrefix = "KEYROTATION_E2E_RESULT "

const usage = "usage: rotate preview|up|destroy WORK_DIR STACK USER_NAME"

func program(userName string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		app, err := iam.NewRotatingAccessKey(ctx, "app", &iam.RotatingAccessKeyArgs{
			UserName:             pulumi.String(userName),
			VerifyTimeoutSeconds: pulumi.Int(30),
		})
		if err != nil {
			return err
		}
		ctx.Export("accessKeyId", app.AccessKeyId)
		ctx.Export("secretAccessKey", app.SecretAccessKey)
		ctx.Export("previousAccessKeyId", app.PreviousAccessKeyId)
		ctx.Export("keys", app.Keys)
		return nil
	}
}

// stepRecorder collects the steps of an operation from its engine events.
type stepRecorder struct {
	events chan events.EngineEvent
	done   chan struct{}
	mu     sync.Mutex
	steps  []string
	errs   []string
}

func newStepRecorder() *stepRecorder {
	r := &stepRecorder{events: make(chan events.EngineEvent), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for e := range r.events {
			r.mu.Lock()
			switch {
			case e.Error != nil:
				r.errs = append(r.errs, e.Error.Error())
			case e.ResourcePreEvent != nil:
				m := e.ResourcePreEvent.Metadata
				op := string(m.Op)
				if m.Type != "pulumi:pulumi:Stack" && !strings.HasPrefix(m.Type, "pulumi:providers:") && op != "same" && op != "read" && op != "refresh" {
					parts := strings.Split(m.URN, "::")
					r.steps = append(r.steps, op+" "+parts[len(parts)-1])
				}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

// result waits (briefly: the automation closes the channel when the event stream ends) for the
// last events and returns the sorted steps.
func (r *stepRecorder) result() ([]string, error) {
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("the engine's event stream did not end")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		return nil, fmt.Errorf("reading engine events: %s", strings.Join(r.errs, "; "))
	}
	steps := append([]string{}, r.steps...)
	sort.Strings(steps)
	return steps, nil
}

func projectName(workDir string) (string, error) {
	text, err := os.ReadFile(filepath.Join(workDir, "Pulumi.yaml"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(text), "\n") {
		if name, ok := strings.CutPrefix(line, "name:"); ok {
			return strings.TrimSpace(name), nil
		}
	}
	return "", fmt.Errorf("%s/Pulumi.yaml has no name", workDir)
}

func run(ctx context.Context, command, workDir, stackName, userName string) (map[string]any, error) {
	project, err := projectName(workDir)
	if err != nil {
		return nil, err
	}
	s, err := auto.UpsertStackInlineSource(ctx, stackName, project, program(userName), auto.WorkDir(workDir))
	if err != nil {
		return nil, fmt.Errorf("selecting the stack: %w", err)
	}
	rec := newStepRecorder()
	result := map[string]any{"command": command}
	switch command {
	case "preview":
		preview, err := s.Preview(ctx, optpreview.ProgressStreams(os.Stderr), optpreview.EventStreams(rec.events))
		if err != nil {
			return nil, err
		}
		changes := map[string]int{}
		for op, n := range preview.ChangeSummary {
			changes[string(op)] = n
		}
		result["changes"] = changes
	case "up":
		up, err := s.Up(ctx, optup.ProgressStreams(os.Stderr), optup.EventStreams(rec.events))
		if err != nil {
			return nil, err
		}
		changes := map[string]int{}
		if up.Summary.ResourceChanges != nil {
			changes = *up.Summary.ResourceChanges
		}
		result["changes"] = changes
		outputs := map[string]any{}
		for name, out := range up.Outputs {
			if out.Secret {
				outputs[name] = "[secret]"
			} else {
				outputs[name] = out.Value
			}
		}
		result["outputs"] = outputs
	case "destroy":
		destroy, err := s.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr), optdestroy.EventStreams(rec.events))
		if err != nil {
			return nil, err
		}
		changes := map[string]int{}
		if destroy.Summary.ResourceChanges != nil {
			changes = *destroy.Summary.ResourceChanges
		}
		result["changes"] = changes
	default:
		return nil, fmt.Errorf("%s", usage)
	}
	steps, err := rec.result()
	if err != nil {
		return nil, err
	}
	result["steps"] = steps
	return result, nil
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	result, err := run(context.Background(), os.Args[1], os.Args[2], os.Args[3], os.Args[4])
	if err != nil {
		fmt.Fprintf(os.Stderr, "rotate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	text, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rotate: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(resultPrefix + string(text))
}
