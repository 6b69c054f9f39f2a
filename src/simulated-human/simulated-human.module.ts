import { Module } from '@nestjs/common';
import { SimulatedHumanService } from 'src/simulated-human/simulated-human.service';

/** Decides what the simulated human says to the agent after each turn. Talks to nothing. */
@Module({
  providers: [SimulatedHumanService],
  exports: [SimulatedHumanService],
})
export class SimulatedHumanModule {}
