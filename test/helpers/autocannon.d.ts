/** The part of autocannon's programmatic API the reliability suite uses (the package ships no types). */
declare module "autocannon" {
  type Request = { method?: string; path?: string; headers?: Record<string, string>; body?: string };
  type Options = {
    url: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    requests?: Request[];
  };
  type Result = {
    requests: { total: number; average: number };
    latency: { p99: number; max: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    "1xx": number;
    "2xx": number;
    "3xx": number;
    "4xx": number;
    "5xx": number;
  };
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
