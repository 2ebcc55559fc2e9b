/** One step of `ygg doctor`'s report, and one host's (or `.ygg`'s) whole diagnosis. */
export type StepStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorStep {
  step: string;
  status: StepStatus;
  detail: string;
  fix?: string;
}

export interface HostDiagnosis {
  host: string;
  steps: DoctorStep[];
  ok: boolean;
}

export interface DoctorOptions {
  cwd: string;
  configPath?: string;
  host?: string;
}
