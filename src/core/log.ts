export declare class RaftLog<C> {
  private readonly phantom: C;
}
