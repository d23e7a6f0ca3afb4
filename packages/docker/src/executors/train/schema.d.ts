export type { TrainOptions as TrainExecutorSchema } from '../../containers/train-options';
