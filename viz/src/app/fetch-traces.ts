/** Trace files fetched from the server that serves the page (`pureraft viz --trace`, `?trace=`). */
import type { TraceText } from '../model/trace-lines.js';

export function fetchTraces(urls: readonly string[]): Promise<TraceText[]> {
  return Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
      return { name: decodeURIComponent(url.split('/').pop()!), text: await response.text() };
    }),
  );
}
