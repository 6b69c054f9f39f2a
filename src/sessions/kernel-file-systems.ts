import { statfsSync } from 'node:fs';

/**
 * The kernel's own file systems, by the type `statfs` reports (linux/magic.h): what lies there is
 * the running system (processes, devices, control groups, kernel settings), never a project.
 */
const KERNEL_FILE_SYSTEMS = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0xf97cff8c, // selinuxfs
  0x43415d53, // smackfs
  0x1cd1, // devpts
  0xcafe4a11, // bpf
  0x6165676c, // pstore
  0xde5e81e4, // efivarfs
  0x62656570, // configfs
  0x65735543, // fusectl
  0x19800202, // mqueue
  0x6e736673, // nsfs
  0x42494e4d, // binfmt_misc
]);

/**
 * Where those file systems are mounted, canonical: found by path as well, since some are not told
 * by their type (devices, `/dev`, report tmpfs's, as `/tmp` may; a cgroup v1 hierarchy's root,
 * `/sys/fs/cgroup`, is a tmpfs). `/dev/shm` is memory for files, not devices: not among them.
 */
const KERNEL_PLACES = ['/proc', '/sys', '/dev'];
const NOT_KERNEL_PLACES = ['/dev/shm'];

const inside = (real: string, place: string): boolean =>
  real === place || real.startsWith(`${place}/`);

/** True when directory `real` (canonical) is on one of the kernel's own file systems. */
export function onKernelFileSystem(real: string): boolean {
  if (NOT_KERNEL_PLACES.some((place) => inside(real, place))) return false;
  if (KERNEL_PLACES.some((place) => inside(real, place))) return true;
  try {
    return KERNEL_FILE_SYSTEMS.has(statfsSync(real).type);
  } catch {
    return false;
  }
}
