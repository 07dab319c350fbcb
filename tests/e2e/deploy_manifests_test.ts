/**
 * The Kubernetes manifests of deploy/kubernetes/ against the Kubernetes API schemas
 * (kubernetes-validate, which ships them: no cluster, no network), a broken manifest refused
 * by the same check, and the manifests agreeing with each other on the names, ports, keys and
 * times that scale-out needs.
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/paths.ts";
import { PYTHON_VENV } from "../support/python.ts";
import { runReadingLines as run } from "../support/run.ts";

const DIR = `${ROOT}deploy/kubernetes`;
const VALIDATE = `${PYTHON_VENV}/bin/kubernetes-validate`;

/** The YAML files of deploy/kubernetes/, sorted. */
async function manifestFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.isFile && entry.name.endsWith(".yaml")) files.push(`${DIR}/${entry.name}`);
  }
  return files.sort();
}

/** kubernetes-validate in strict mode (unknown fields are errors) on `files`. */
function validate(files: string[]) {
  return run(VALIDATE, ["--strict", ...files]);
}

// deno-lint-ignore no-explicit-any -- parsed YAML, read by the assertions
type Resource = Record<string, any>;

/** Every resource of every file, parsed by the venv's PyYAML (kubernetes-validate's own). */
async function resources(files: string[]): Promise<Resource[]> {
  const script = "import json, sys, yaml\n" +
    "print(json.dumps([r for f in sys.argv[1:] for r in yaml.safe_load_all(open(f)) if r]))";
  const { code, stdout, stderr } = await run(`${PYTHON_VENV}/bin/python`, ["-c", script, ...files]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

Deno.test("the Kubernetes manifests pass the API schemas in strict mode", async () => {
  const files = await manifestFiles();
  assert.deepEqual(files.map((file) => file.slice(DIR.length + 1)), [
    "secret.example.yaml",
    "services.yaml",
    "statefulset.yaml",
  ]);
  const { code, stdout, stderr } = await validate(files);
  assert.equal(code, 0, stdout + stderr);
  for (
    const resource of [
      "secret/mcp-proxy",
      "service/mcp-proxy-headless",
      "service/mcp-proxy",
      "statefulset/mcp-proxy",
    ]
  ) assert.match(stdout + stderr, new RegExp(`passed for resource ${resource} `));
});

Deno.test("a broken manifest fails the same check", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const original = await Deno.readTextFile(`${DIR}/statefulset.yaml`);
    const cases: [string, string, RegExp][] = [
      ["replicas: 3", "replicas: three", /spec\.replicas: 'three' is not of type 'integer'/],
      ["readinessProbe:", "readynessProbe:", /readynessProbe/],
    ];
    for (const [from, to, error] of cases) {
      assert.ok(original.includes(from), from);
      const broken = `${dir}/statefulset.yaml`;
      await Deno.writeTextFile(broken, original.replace(from, to));
      const { code, stdout, stderr } = await validate([broken]);
      assert.equal(code, 1, `${to}: ${stdout}${stderr}`);
      assert.match(stdout + stderr, error);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the manifests agree: headless Service, instance ids, peer URL, keys, probes, drain times", async () => {
  const all = await resources(await manifestFiles());
  const find = (kind: string, name: string) => {
    const found = all.find((r) => r.kind === kind && r.metadata.name === name);
    assert.ok(found, `${kind} ${name}`);
    return found;
  };
  const set = find("StatefulSet", "mcp-proxy");
  const headless = find("Service", "mcp-proxy-headless");
  const client = find("Service", "mcp-proxy");
  const secret = find("Secret", "mcp-proxy");
  const pod = set.spec.template.spec;
  const [container] = pod.containers;
  const env = Object.fromEntries(
    container.env.map((e: Resource) => [e.name, e.valueFrom ?? e.value]),
  );
  const arg = (name: string) =>
    container.args.find((a: string) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const port = container.ports.find((p: Resource) => p.name === "http").containerPort;

  // Each pod's DNS name is <pod>.<headless>.<namespace>.svc, even while it drains.
  assert.equal(set.spec.serviceName, headless.metadata.name);
  assert.equal(headless.spec.clusterIP, "None");
  assert.equal(headless.spec.publishNotReadyAddresses, true);
  assert.equal(env.MCP_PROXY_INSTANCE_ID.fieldRef.fieldPath, "metadata.name");
  assert.equal(env.POD_NAMESPACE.fieldRef.fieldPath, "metadata.namespace");
  assert.equal(
    arg("peer-url"),
    `http://{instance}.${headless.metadata.name}.$(POD_NAMESPACE).svc:${port}`,
  );
  assert.equal(arg("port"), String(port));
  assert.equal(arg("host"), "0.0.0.0");

  for (
    const [variable, key] of [["MCP_PROXY_STATE_KEY", "state-key"], [
      "MCP_PROXY_API_KEY",
      "api-key",
    ]]
  ) {
    assert.deepEqual(env[variable].secretKeyRef, { name: secret.metadata.name, key });
    assert.ok(key in secret.stringData, key);
  }
  assert.ok(secret.stringData["state-key"].length >= 32);

  for (const service of [headless, client]) {
    assert.deepEqual(service.spec.selector, set.spec.selector.matchLabels);
    assert.equal(service.spec.ports[0].targetPort, "http");
  }
  assert.deepEqual(set.spec.template.metadata.labels, set.spec.selector.matchLabels);
  assert.equal(container.readinessProbe.httpGet.path, "/ready");

  // SIGTERM comes after preStop; the drain and stopping the servers fit in the grace period.
  const [sleep, seconds] = container.lifecycle.preStop.exec.command;
  assert.equal(sleep, "sleep");
  const drain = Number(arg("drain-timeout"));
  assert.ok(drain > 0);
  assert.ok(pod.terminationGracePeriodSeconds > Number(seconds) + drain);

  // The image README's "Install as container" names, run as the user it has.
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  assert.ok(readme.includes(`\`${container.image}\``), container.image);
  assert.equal(pod.securityContext.runAsUser, 10001);
});
