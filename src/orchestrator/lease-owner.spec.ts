import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { AppConfig } from 'src/config';
import {
  isOwnerGoneLocally,
  makeOwnerId,
  ownerIsOnThisHost,
  parseOwner,
  seeOwner,
} from 'src/orchestrator/lease-owner';

describe('lease owner ids', () => {
  it('name the instance, host and pid, and differ per call', () => {
    const a = makeOwnerId('api-1');
    const b = makeOwnerId('api-1');
    expect(a).not.toBe(b);
    const ns = parseOwner(a)?.pidNamespace ?? '';
    expect(ns).toMatch(/^\d+$/);
    expect(a.startsWith(`api-1@${hostname()}:${ns}:${process.pid}:`)).toBe(true);
    expect(parseOwner(a)).toEqual({ host: hostname(), pidNamespace: ns, pid: process.pid });
    expect(parseOwner(makeOwnerId(undefined))).toEqual(parseOwner(a));
    expect(parseOwner('garbage')).toBeNull();
  });

  it('fit tasks.lease_owner (200) at the longest INSTANCE_ID and HOST_ID the configuration takes', () => {
    const longest = (setting: string): number => {
      const storage = getMetadataStorage() as unknown as {
        validationMetadatas: Map<unknown, ValidationMetadata[]>;
      };
      const rules = storage.validationMetadatas.get(AppConfig) ?? [];
      const rule = rules.find((m) => m.propertyName === setting && m.name === 'maxLength');
      return Number(rule?.constraints[0]);
    };
    const owner = makeOwnerId(
      'i'.repeat(longest('INSTANCE_ID')),
      'h'.repeat(longest('HOST_ID')),
      4_194_304,
    );
    // The PID namespace is an inode number: at most 10 digits.
    const length = owner.length - (parseOwner(owner)?.pidNamespace.length ?? 0) + 10;
    expect(length).toBeGreaterThan(150);
    expect(length).toBeLessThanOrEqual(200);
  });

  it('treat an owner of this process as alive and a dead local pid as gone', () => {
    const self = makeOwnerId(undefined);
    const sibling = makeOwnerId('other-app');
    expect(isOwnerGoneLocally(sibling, self)).toBe(false);
    expect(isOwnerGoneLocally(self, self)).toBe(false);
    const ns = parseOwner(self)?.pidNamespace ?? '';
    const exited = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    const deadPid = exited.pid;
    expect(isOwnerGoneLocally(`${hostname()}:${ns}:${deadPid}:abcd1234`, self)).toBe(true);
    expect(isOwnerGoneLocally(`${hostname()}:${ns}:${process.pid}:0badc0de`, self)).toBe(true);
  });

  it('never declares an owner in another PID namespace on this host gone', () => {
    const self = makeOwnerId(undefined);
    const exited = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    const other = `${hostname()}:1:${exited.pid}:abcd1234`;
    expect(isOwnerGoneLocally(other, self)).toBe(false);
    expect(ownerIsOnThisHost(other, self)).toBe(false);
  });

  it('never declares an owner on another host gone', () => {
    const self = makeOwnerId(undefined);
    expect(isOwnerGoneLocally('elsewhere.example:4026531836:1:abcd1234', self)).toBe(false);
    expect(ownerIsOnThisHost('elsewhere.example:4026531836:1:abcd1234', self)).toBe(false);
    expect(ownerIsOnThisHost(self, self)).toBe(true);
  });

  it('take HOST_ID as the host: another id is another machine, whatever the hostname', () => {
    const self = makeOwnerId(undefined, 'machine-a');
    expect(parseOwner(self)?.host).toBe('machine-a');
    const exited = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    const ns = parseOwner(self)?.pidNamespace ?? '';
    const deadOnB = `machine-b:${ns}:${exited.pid}:abcd1234`;
    expect(ownerIsOnThisHost(deadOnB, self)).toBe(false);
    expect(isOwnerGoneLocally(deadOnB, self)).toBe(false);
    expect(isOwnerGoneLocally(`machine-a:${ns}:${exited.pid}:abcd1234`, self)).toBe(true);
  });

  it('see an owner gone or alive only on this host; elsewhere, or unnamed, it is unseen', () => {
    const self = makeOwnerId(undefined);
    const ns = parseOwner(self)?.pidNamespace ?? '';
    const exited = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    expect(seeOwner(`${hostname()}:${ns}:${exited.pid}:abcd1234`, self)).toBe('gone');
    expect(seeOwner(makeOwnerId('sibling'), self)).toBe('alive');
    expect(seeOwner(self, self)).toBe('alive');
    expect(seeOwner(`elsewhere.example:${ns}:${exited.pid}:abcd1234`, self)).toBe('unseen');
    expect(seeOwner(null, self)).toBe('unseen');
  });
});
