export { OrchestratorModule } from 'src/orchestrator/orchestrator.module';
export { TaskOrchestratorService } from 'src/orchestrator/task-orchestrator.service';
