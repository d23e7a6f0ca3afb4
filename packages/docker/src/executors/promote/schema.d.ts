export interface PromoteExecutorSchema {
  from?: string;
  to?: string;
  environments?: Record<string, { registry: string }>;
  images?: string[];
  tags?: string[];
  buildTarget?: string;
  retries?: number;
}
