export { ClaudeInteraction } from 'src/tasks/claude-interaction.entity';
export type { InteractionKind } from 'src/tasks/claude-interaction.entity';
export { InteractionResponseDto, TaskResponseDto } from 'src/tasks/dto/task-response.dto';
export { LeaseLostError } from 'src/tasks/lease';
export type { Lease } from 'src/tasks/lease';
export { TaskEventLog } from 'src/tasks/task-event-log.service';
export type {
  MessageGuard,
  NewInteraction,
  NewTestCase,
  QueueStatusChange,
  StatusChange,
  TaskNote,
  TaskPatch,
} from 'src/tasks/task-event-log.service';
export { GitConfigQuarantine } from 'src/tasks/git-config-quarantine';
export { HumanWaits } from 'src/tasks/human-waits.service';
export type { HumanWaitEnd } from 'src/tasks/human-waits.service';
export { WAITING_FOR_HUMAN_SQL, waitsForHuman } from 'src/tasks/human-wait';
export type { HumanWait } from 'src/tasks/human-wait';
export { LateMessageError, NO_MESSAGE_SINCE_SQL } from 'src/tasks/message-conditions';
export {
  MAX_UNDELIVERED_MESSAGES,
  TaskMessages,
  undeliveredMessagesRecord,
} from 'src/tasks/task-messages.service';
export type { HumanMessage, WaitingMessages } from 'src/tasks/task-messages.service';
export { TaskInterruptSignal } from 'src/tasks/task-interrupt-signal';
export { TaskQueueSignal } from 'src/tasks/task-queue-signal';
export { TaskRowReader } from 'src/tasks/task-row-reader';
export {
  ACTIVE_STATUSES,
  isTerminal,
  STATUS_REASONS,
  TASK_STATUSES,
  TaskStatus,
  TERMINAL_STATUSES,
} from 'src/tasks/task-status';
export type { StatusReason, TaskPhase } from 'src/tasks/task-status';
export { Task } from 'src/tasks/task.entity';
export { NOTHING_KEPT, TaskWorkspaceCleanup } from 'src/tasks/task-workspace-cleanup';
export { toInteractionResponse, toTaskResponse } from 'src/tasks/task.mapper';
export { TasksController } from 'src/tasks/tasks.controller';
export { TasksModule } from 'src/tasks/tasks.module';
export { taskNotFound } from 'src/tasks/task-not-found';
export { TasksService } from 'src/tasks/tasks.service';
export { TestCase } from 'src/tasks/test-case.entity';
export { readVerification, WEAKENING_KINDS } from 'src/tasks/verification-evidence';
export type {
  VerificationCounts,
  VerificationEvidence,
  VerificationRun,
  VerificationVerdict,
  VerificationWeakening,
  WeakeningKind,
} from 'src/tasks/verification-evidence';
