export interface DependencyPatch {
  file: string;
  why: string;
  find: string;
  replace: string;
}
export declare const packageName: string;
export declare const packageVersion: string;
export declare const patches: DependencyPatch[];
