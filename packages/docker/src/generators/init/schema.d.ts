export interface InitGeneratorSchema {
  buildTargetName?: string;
  testTargetName?: string;
  pushTargetName?: string;
  trainTargetName?: string;
  skipFormat?: boolean;
}
