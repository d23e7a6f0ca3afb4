export interface InitGeneratorSchema {
  buildTargetName?: string;
  testTargetName?: string;
  pushTargetName?: string;
  trainTargetName?: string;
  /** Write an nx.json release group for the projects with images (only when nx.json has no release block). */
  release?: boolean;
  skipFormat?: boolean;
}
