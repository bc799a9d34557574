/** Parses a Server-Sent Events body into events. */
export async function readSse(res: Response): Promise<{ event: string; id?: string; data: Record<string, unknown> }[]> {
  const text = await res.text();
  return text
    .split(/\n\n+/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      const field = (name: string) =>
        lines
          .filter((l) => l.startsWith(`${name}:`))
          .map((l) => l.slice(name.length + 1).trimStart())
          .join('\n');
      return { event: field('event'), id: field('id') || undefined, data: JSON.parse(field('data') || '{}') as Record<string, unknown> };
    });
}
