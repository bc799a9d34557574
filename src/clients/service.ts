/*
 * The HTTP client of the running service, shared by the CLI and the eval runner: both act through the
 * API, as they would against a remote deployment.
 */

/** A CLI failure shown to the user as one line, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The CLI acts through the running service's HTTP API, as it would against a remote deployment. */
export class ServiceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => Promise<string>,
  ) {}

  async reachable(): Promise<boolean> {
    try {
      const res = await fetch(new URL('/healthz', this.baseUrl), { signal: AbortSignal.timeout(1500) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        Authorization: `Bearer ${await this.token()}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((err: unknown) => {
      throw new CliError(
        `the service at ${this.baseUrl} is not reachable (${(err as Error).message}); start it with "npm start" or set AIOPS_URL`,
      );
    });
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const res = await this.request(method, path, body, headers);
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const p = JSON.parse(text) as { detail?: string; errors?: { field: string; message: string }[] };
        detail = [p.detail, ...(p.errors ?? []).map((e) => `  ${e.field}: ${e.message}`)].filter(Boolean).join('\n');
      } catch {
        /* not JSON: show as is */
      }
      throw new CliError(`${method} ${path} failed with ${res.status}: ${detail}`);
    }
    return JSON.parse(text) as T;
  }
}

/** One Server-Sent Event of the service's streams: its name and its JSON data. */
export interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads the Server-Sent Events of a response body as they arrive (the chat stream, eval progress). */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const lines = block.split('\n');
      const event =
        lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim() ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) yield { event, data: JSON.parse(data) as Record<string, unknown> };
    }
  }
}
