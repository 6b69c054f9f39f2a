import { Module } from '@nestjs/common';
import { ClockSync } from 'src/common/clock-sync';

/**
 * Keeps the global `Clock` on the database's time (`ClockSync`). Apart from `CommonModule`,
 * which modules compile without a database in their specs.
 */
@Module({ providers: [ClockSync] })
export class ClockSyncModule {}
