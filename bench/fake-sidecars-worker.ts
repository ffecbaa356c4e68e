/**
 * The coordinator-cycle bench's fake sidecars in a thread of their own (KVASS_CYCLE_WORKERS ≥ 1). In the bench's
 * thread they share one heap with the coordinator (at 1M targets, 784 sidecars' statuses beside discovery and the
 * coordinator: 10 GB), so the coordinator's garbage collection pays for their objects, which real sidecars keep in
 * processes of their own.
 *
 * workerData: { worker, workers }: this thread hosts the sidecars whose ordinal % workers === worker; messages are
 * fake-sidecar.ts's HostRequest, answered with its HostAnswer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FakeSidecarHost, type HostRequest } from './fake-sidecar.js';

const { worker, workers } = workerData as { worker: number; workers: number };
const host = new FakeSidecarHost(worker, workers);
parentPort!.on('message', (m: HostRequest) => parentPort!.postMessage(host.answer(m)));
