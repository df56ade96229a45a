/** The lab's graded tests (6.824 Raft, parts A to D) on the deterministic simulator; seeds from seeds.ts. */
import { agreementTests } from './scenarios/agreement.js';
import { churnTests } from './scenarios/churn.js';
import { electionTests } from './scenarios/election.js';
import { figure8Tests } from './scenarios/figure8.js';
import { persistenceTests } from './scenarios/persistence.js';
import { snapshotTests } from './scenarios/snapshots.js';
import { labSuite } from './suite.js';

labSuite([
  { part: 'A', scenarios: electionTests },
  { part: 'B', scenarios: agreementTests },
  { part: 'C', scenarios: [...persistenceTests, ...figure8Tests, ...churnTests] },
  { part: 'D', scenarios: snapshotTests },
]);
