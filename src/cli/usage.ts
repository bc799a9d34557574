/** Each command's usage, printed by `aiops help COMMAND`, `aiops COMMAND --help` and on a usage error. */
export const COMMAND_USAGE = {
  serve: `usage: aiops serve

Runs the service (what npm start does): HTTP on HOST:PORT, the embedded ClickHouse under
AIOPS_DATA_DIR unless CLICKHOUSE_URL is set, demo data on an empty store. Configuration comes from
the environment (README.md, "Configuration").`,

  token: `usage: aiops token --sub USER --workspace W [--workspace W2] --roles ROLE[,ROLE] [--ttl 1h]

Prints a token signed with the dev key of AIOPS_DATA_DIR, and nothing else (dev mode only: with
AUTH_JWKS_URL or AUTH_PUBLIC_KEY set, tokens come from the control plane). The service must use the
same data folder. Roles must be known ones (README.md, "Tokens, roles and workspaces").

  --sub U          the user the token speaks for (required)
  --workspace W    a workspace the token grants (repeat, or separate with commas)
  --roles R,R      roles the token grants (repeat, or separate with commas)
  --ttl D          lifetime, such as 15m or 1h (at most AUTH_MAX_TOKEN_AGE)`,

  demo: `usage: aiops demo seed [--scenario S] [--seed N] [--hours H] [--end TIME]
       aiops demo scenarios
       aiops demo state

  seed        load simulated telemetry for a scenario (through the running service, or into the
              data folder when none answers); prints its ground truth
  scenarios   list the simulator's scenarios
  state       the loaded scenario per workspace, with its ground truth`,

  tool: `usage: aiops tool [NAME ['{"json":"args"}']] [--workspace W] [--text]

Runs a telemetry tool through the running service on the workspace (default shop); with no name,
lists the tools.

  --workspace W   the workspace to query
  --text          print the evidence as rendered for a prompt instead of JSON`,

  patterns: `usage: aiops patterns [FILE|-]

Mines log templates from a file, or standard input (no FILE, or "-"), one message per line. Prints
JSON lines: each input line's template id (once every line is read), then the template table, most
frequent first.`,

  anomalies: `usage: aiops anomalies FILE.csv|- [--json] [--threshold T]

Scores each row of a metric series with the online anomaly detector (a row's score uses that
row and earlier ones only). The file has a header row, then timestamp,value rows in time order;
timestamps are ISO 8601, "YYYY-MM-DD HH:MM:SS" (UTC) or epoch seconds or milliseconds. "-" reads
standard input.

  --json         JSON lines instead of CSV (timestamp,value,score)
  --threshold T  print only rows scoring at least T (0 to 1; 0.5 is a sensible alarm level)`,

  chat: `usage: aiops chat "QUESTION" [--thread ID] [--workspace W] [--json]

Asks the agents through the running service: progress on stderr, the answer on stdout.

  --thread ID     continue one of your threads
  --workspace W   the workspace to ask about (default shop)
  --json          print the whole answer as JSON`,

  knowledge: `usage: aiops knowledge index FOLDER [--workspace W] [--prefix P] [--prune] [--dry-run]
       aiops knowledge search "QUERY" [--alertname NAME] [--k N]
       aiops knowledge list

  index    send a folder of markdown (recursively) to the running service as documents of the
           workspace, paths P/<relative path>; every file is checked before anything is sent
  search   search runbooks and the workspace's documents
  list     the workspace's documents

In dev mode the CLI signs its own token; elsewhere set AIOPS_TOKEN.`,

  eval: `usage: aiops eval run [--suite S] [--case ID] [--tag T] [--prompt ID=V1,V2] [--model A,B] [--repeat N] [--json]
       aiops eval compare RUN_A RUN_B [--json] [--variant-a NAME] [--variant-b NAME]
       aiops eval list

  run       runs eval cases (evals/<suite>/<case>/case.yaml) on the running service, each case in a
            workspace of its own; progress on stderr, the report on stdout (markdown, or JSON with
            --json) and in evals/results/ (--out DIR) as JSON and markdown. --prompt and --model
            make variants (their cross); with two, the paired comparison follows
  compare   run B compared with run A (stored runs by id, or two report files): cases won and lost,
            McNemar's exact p, a bootstrap interval on the pass-rate difference, the changed cases
  list      stored runs, newest first

  --concurrency N   cases at once (default 2)
In dev mode the CLI signs its own eval token; elsewhere set AIOPS_TOKEN (role eval).`,
  briefing: `usage: aiops briefing run [--workspace W] [--period 1h] [--name N] [--end TIME] [--json]
       aiops briefing list [--workspace W] [--name N] [--limit N] [--json]
       aiops briefing show ID [--workspace W] [--json]

  run    write the briefing of a period now, through the running service (role sre): what changed
         and what is anomalous, incidents with their probable origin, and what is new, ongoing,
         worse or resolved since the last briefing of the same name. The period ends at --end, or
         at the end of the last complete period counted from midnight UTC; the same workspace, name
         and period give the same briefing, so running it again writes nothing twice
  list   the workspace's briefings, newest first
  show   one briefing; its page is /v1/briefings/ID.html

  --name N     the schedule in policies/briefings.yaml (its period and delivery apply); default on-demand
  --period D   what the briefing covers, such as 30m or 1h (default the schedule's, else 1h)`,
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMAND_USAGE, name);
}

const SUMMARY: Record<CommandName, string> = {
  serve: 'run the service (npm start)',
  token: 'print a dev-mode token (dev mode only)',
  demo: 'load, list and show the simulated demo data',
  tool: 'run a telemetry tool (no name: list them)',
  patterns: 'mine log templates from a file or stdin, one message per line',
  anomalies: 'score a timestamp,value series for anomalies, row by row',
  chat: 'ask the agents; progress on stderr, the answer on stdout',
  knowledge: 'index, search and list runbooks and documents',
  eval: 'run eval suites on the service, compare runs',
  briefing: 'write a briefing of a period now; list and show briefings',
};

/** Every command's synopsis with a line on what it does. */
export function overview(): string {
  const entries = (Object.keys(COMMAND_USAGE) as CommandName[]).map((name) => {
    const synopsis = COMMAND_USAGE[name]
      .split('\n\n')[0]!
      .split('\n')
      .map((l) => `  ${l.replace(/^(usage:)?\s*aiops /, 'aiops ')}`);
    return [...synopsis, `      ${SUMMARY[name]}`].join('\n');
  });
  return `usage: aiops <command> [options]

commands:
${entries.join('\n')}

"aiops help COMMAND" or "aiops COMMAND --help" explains one. Configuration comes from the
environment; see README.md.`;
}

/** Whether the arguments ask for help: --help or -h before any "--". */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}
