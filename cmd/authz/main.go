// Command authz inspects and verifies Logto (RFC 9068) JWT access tokens,
// and runs a local, Logto-compatible issuer for development.
//
//	authz inspect TOKEN|-                         decode a token, NOT VERIFIED
//	authz verify --issuer URL --audience AUD ... TOKEN|-
//	                                              validate it against the issuer's live keys
//	authz dev-issuer [--addr 127.0.0.1:7080]      mint real tokens locally (client credentials)
//
// Run "authz help COMMAND" for the flags of each command.
//
// Exit status: 0 on success (verify: the token is valid), 1 on failure
// (verify: the token is rejected; inspect: it is not a JWT), 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // verify: rejected; inspect: not a JWT; dev-issuer: cannot serve
	exitUsage   = 2
)

// maxInput caps a token read from standard input.
const maxInput = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// streams are a command's standard input and outputs.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s streams) int
	help    func(w io.Writer) // full help, flags included
}

func commands() []command {
	return []command{
		{name: "inspect", summary: "decode a token and explain it (NOT VERIFIED)", run: runInspect, help: inspectHelp},
		{name: "verify", summary: "validate a token against its issuer's live keys", run: runVerify, help: verifyHelp},
		{name: "dev-issuer", summary: "run a local Logto-compatible issuer that mints real tokens", run: runDevIssuer, help: devIssuerHelp},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run is main with its inputs and outputs explicit; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := streams{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			c, ok := findCommand(args[1])
			if !ok {
				fmt.Fprintf(stderr, "authz help: unknown command %q\n\n", args[1])
				usage(stderr)
				return exitUsage
			}
			c.help(stdout)
			return exitOK
		}
		usage(stdout)
		return exitOK
	default:
		c, ok := findCommand(name)
		if !ok {
			fmt.Fprintf(stderr, "authz: unknown command %q\n\n", name)
			usage(stderr)
			return exitUsage
		}
		return c.run(ctx, args[1:], s)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `authz inspects and verifies Logto (RFC 9068) JWT access tokens, and runs a
local Logto-compatible issuer for development.

Usage:

  authz inspect TOKEN|-
  authz verify --issuer URL --audience AUD [--audience AUD2] [--organization ID]
               [--scope S ...] [--jwks URL] TOKEN|-
  authz dev-issuer [--addr 127.0.0.1:7080] [--clients FILE] [--alg ES384]
                   [--insecure-public] [--print-default-clients]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
TOKEN is the access token itself ("Bearer " in front is ignored); "-" reads
it from standard input.

Exit status: 0 success (verify: the token is valid), 1 failure (verify: the
token is rejected; inspect: it is not a JWT), 2 usage error.

Run "authz help COMMAND" or "authz COMMAND -h" for a command's flags.
`)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// newFlagSet returns a flag set whose errors go to stderr and that prints
// nothing by itself: parseFlags prints the help or a hint.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("authz "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments ("authz
// verify TOKEN --issuer URL"); everything after "--" is positional. It
// returns the positional arguments, and an exit code when the command must
// stop now: 0 after -h (the help went to stdout), 2 after a bad flag.
func parseFlags(fs *flag.FlagSet, args []string, help func(io.Writer), s streams) (positional []string, exit int, stop bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(s.stdout)
				return nil, exitOK, true
			}
			fmt.Fprintf(s.stderr, "Run '%s -h' for help.\n", fs.Name())
			return nil, exitUsage, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, false
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), 0, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage error and the hint, and returns exitUsage.
func usageError(s streams, name string, format string, args ...any) int {
	fmt.Fprintf(s.stderr, "authz %s: %s\nRun 'authz %s -h' for help.\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// printFlags lists the flags of fs in the GNU style the synopses use
// ("--issuer URL").
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if len(f.Name) == 1 {
			line = "  -" + f.Name
		}
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintln(w, line)
		text = strings.ReplaceAll(text, "\n", "\n      ")
		if f.DefValue != "" && f.DefValue != "false" {
			text += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "      %s\n", text)
	})
}

// readToken returns the token named by a command-line argument: the
// argument itself, or standard input for "-". Surrounding space and a
// leading "Bearer " are removed.
func readToken(arg string, stdin io.Reader) (string, error) {
	raw := arg
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
		if err != nil {
			return "", fmt.Errorf("reading standard input: %w", err)
		}
		if len(b) > maxInput {
			return "", fmt.Errorf("standard input is over %d bytes; that is no access token", maxInput)
		}
		raw = string(b)
	}
	raw = strings.TrimSpace(raw)
	if len(raw) > len("bearer ") && strings.EqualFold(raw[:len("bearer ")], "bearer ") {
		raw = strings.TrimSpace(raw[len("bearer "):])
	}
	if raw == "" {
		if arg == "-" {
			return "", errors.New("no token on standard input")
		}
		return "", errors.New("empty token")
	}
	return raw, nil
}
