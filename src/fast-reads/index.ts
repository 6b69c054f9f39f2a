export { FastReadsModule } from 'src/fast-reads/fast-reads.module';
