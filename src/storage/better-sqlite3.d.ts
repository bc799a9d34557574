/**
 * The part of better-sqlite3's API the service uses (@types/better-sqlite3 is not a dependency):
 * the embedded conversation database and LangGraph's SQLite checkpointer, which names these types.
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }
    interface Statement {
      run(...params: unknown[]): RunResult;
      get(...params: unknown[]): unknown;
      all(...params: unknown[]): unknown[];
    }
    interface Database {
      prepare(sql: string): Statement;
      exec(sql: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      // biome-ignore lint/suspicious/noExplicitAny: a transaction wraps any function and keeps its signature.
      transaction<F extends (...args: any[]) => unknown>(fn: F): F;
      close(): this;
      readonly open: boolean;
    }
  }
  const Database: new (filename?: string, options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number }) => Database.Database;
  export = Database;
}
