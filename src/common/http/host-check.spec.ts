import { hostNameOf, isAllowedHost, lacksRequiredHost } from 'src/common/http/host-check';

describe('Host check', () => {
  it.each([
    ['127.0.0.1:8000', []],
    ['localhost:8000', []],
    ['LOCALHOST', []],
    ['[::1]:8000', []],
    ['10.0.0.5', []],
    ['tasks.internal:443', ['tasks.internal']],
    ['api.example.com', ['.example.com']],
    ['example.com', ['.example.com']],
    ['api.example.org.', ['API.example.org.']],
    ['api.example.org', ['api.example.org.']],
    [undefined, []],
  ] as const)('accepts Host %s with ALLOWED_HOSTS %j', (host, allowed) => {
    expect(isAllowedHost(host, allowed)).toBe(true);
  });

  it.each([
    ['evil.example', []],
    ['rebind.attacker.test:8000', ['tasks.internal']],
    ['notexample.com', ['.example.com']],
    ['localhost.evil.test', []],
    ['127.0.0.1.nip.io', []],
    ['a b', []],
    ['[zz]:80', []],
  ] as const)('refuses Host %s with ALLOWED_HOSTS %j', (host, allowed) => {
    expect(isAllowedHost(host, allowed)).toBe(false);
  });

  it('says an HTTP/1.1 request without Host lacks one, an HTTP/1.0 one or one with Host does not', () => {
    expect(lacksRequiredHost({ httpVersion: '1.1', headers: {} })).toBe(true);
    expect(lacksRequiredHost({ httpVersion: '1.1', headers: { host: '' } })).toBe(false);
    expect(lacksRequiredHost({ httpVersion: '1.1', headers: { host: 'localhost' } })).toBe(false);
    expect(lacksRequiredHost({ httpVersion: '1.0', headers: {} })).toBe(false);
  });

  it('reads the host name out of a Host value', () => {
    expect(hostNameOf('Example.COM.:80')).toBe('example.com');
    expect(hostNameOf('[::1]')).toBe('::1');
    expect(hostNameOf('a:b:c')).toBeNull();
  });
});
