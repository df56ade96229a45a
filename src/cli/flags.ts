/**
 * Command-line flags, declared once per command: the declaration parses argv (strictly: an unknown flag, a
 * missing value or a bad number is a `UsageError`) and writes the command's --help text.
 */
import { parseArgs } from 'node:util';

type FlagType = 'string' | 'integer' | 'boolean' | 'list';
type ValueOf<T extends FlagType> = T extends 'string'
  ? string
  : T extends 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : string[];

export interface Flag<T extends FlagType = FlagType> {
  readonly type: T;
  readonly description: string;
  /** Names the value in the help text, e.g. "host:port". */
  readonly placeholder?: string;
}

export interface CommandSpec<F extends Readonly<Record<string, Flag>>> {
  readonly name: string;
  /** One line, for the list of commands. */
  readonly summary: string;
  /** What follows "pureraft <name>" in the usage line, e.g. "[flags] <trace>". */
  readonly synopsis: string;
  /** Paragraphs after the usage line: what the command does, defaults, examples. */
  readonly details: string;
  readonly flags: F;
  /** How many positional arguments the command takes. */
  readonly positionals: number;
}

export type FlagValues<F extends Readonly<Record<string, Flag>>> = {
  -readonly [K in keyof F]?: ValueOf<F[K]['type']>;
};

/** A mistake on the command line: the CLI prints it with the command's usage and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export function usage(spec: CommandSpec<Readonly<Record<string, Flag>>>): string {
  const rows = Object.entries(spec.flags).map(([name, flag]): [string, string] => {
    const value =
      flag.type === 'boolean' ? '' : ` <${flag.placeholder ?? (flag.type === 'integer' ? 'n' : 'value')}>`;
    const repeat = flag.type === 'list' ? ' (repeatable)' : '';
    return [`--${name}${value}`, `${flag.description}${repeat}`];
  });
  rows.push(['-h, --help', 'Show this help.']);
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
  return `Usage: pureraft ${spec.name} ${spec.synopsis}\n\n${spec.details.trim()}\n\nFlags:\n${lines.join('\n')}\n`;
}

export type Parsed<F extends Readonly<Record<string, Flag>>> =
  | { readonly help: true }
  | { readonly help: false; readonly flags: FlagValues<F>; readonly positionals: readonly string[] };

export function parseFlags<F extends Readonly<Record<string, Flag>>>(
  spec: CommandSpec<F>,
  argv: readonly string[],
): Parsed<F> {
  const help = usage(spec);
  const options = Object.fromEntries(
    Object.entries(spec.flags).map(([name, flag]) => [
      name,
      { type: flag.type === 'boolean' ? 'boolean' : 'string', multiple: flag.type === 'list' } as const,
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, spec.flags),
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, help);
  }
  if (parsed.values.help === true) return { help: true };
  if (parsed.positionals.length !== spec.positionals) {
    const expected = spec.positionals === 0 ? 'no arguments' : `${spec.positionals} argument(s)`;
    throw new UsageError(`expected ${expected}, got: ${parsed.positionals.join(' ') || 'none'}`, help);
  }
  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    if (value === undefined) continue;
    flags[name] = flag.type === 'integer' ? integer(name, value as string, help) : value;
  }
  return { help: false, flags: flags as FlagValues<F>, positionals: parsed.positionals };
}

/**
 * `--name -5` as `--name=-5` for a flag that takes a value: parseArgs refuses a value that starts with a dash as
 * "ambiguous", which says nothing of what the flag takes; the flag's own check then does.
 */
function joinNegativeValues(argv: readonly string[], flags: Readonly<Record<string, Flag>>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // Past `--` every argument is a positional, taken as it is.
    if (arg === '--') {
      joined.push(...argv.slice(i));
      break;
    }
    const name = arg.slice(2);
    const flag = arg.startsWith('--') && Object.hasOwn(flags, name) ? flags[name] : undefined;
    const next = argv[i + 1];
    if (flag !== undefined && flag.type !== 'boolean' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

function integer(name: string, text: string, help: string): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value))
    throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(text)}`, help);
  return value;
}

/** A subcommand: parses its flags, prints its help for --help, and runs. Resolves with the exit code. */
export interface Command {
  readonly spec: CommandSpec<Readonly<Record<string, Flag>>>;
  run(argv: readonly string[]): Promise<number>;
}

export function defineCommand<F extends Readonly<Record<string, Flag>>>(
  spec: CommandSpec<F>,
  run: (flags: FlagValues<F>, positionals: readonly string[], usage: string) => Promise<number>,
): Command {
  return {
    spec,
    async run(argv) {
      const parsed = parseFlags(spec, argv);
      if (parsed.help) {
        process.stdout.write(usage(spec));
        return 0;
      }
      return run(parsed.flags, parsed.positionals, usage(spec));
    },
  };
}
