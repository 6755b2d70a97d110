"""One behaviour, written once per language: the conformance suite runs each kind's version of it.

A kit gives the init payload (`code`, `binary`, `main`) of a named behaviour; where a language
cannot express one (Java's `main` returns a JsonObject by its signature), it says why.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

PYTHON = {
    "echo": "def main(args):\n    return args\n",
    "other_main": "def main(args):\n    return {'which': 'main'}\ndef other(args):\n    return {'which': 'other'}\n",
    "non_dict": "def main(args):\n    return 42\n",
    "array": "def main(args):\n    return [1, 'two']\n",
    "env": ("import os\ndef main(args):\n    return {k: v for k, v in os.environ.items() "
            "if k.startswith('__OW_')}\n"),
    "logs": ("import sys\ndef main(args):\n    print('out', args['i'])\n"
             "    print('err', args['i'], file=sys.stderr)\n    return {}\n"),
    "many_lines": "def main(args):\n    for i in range(100):\n        print('x' * 100)\n    return {}\n",
    "sleep": "import time\ndef main(args):\n    time.sleep(10)\n    return {}\n",
    "crash": "import os\ndef main(args):\n    os._exit(3)\n",
    "oom": "def main(args):\n    b = bytearray(1024 * 1024 * 1024)\n    return {}\n",
    "exception": "def main(args):\n    raise ValueError('bad input')\n",
    "huge_line": ("def main(args):\n    print('y' * (5 * 1024 * 1024))\n    for i in range(20000):\n"
                  "        print('line', i)\n    return {'ok': True}\n"),
}

NODEJS = {
    "echo": "function main(args) { return args; }\n",
    "other_main": ("function main(args) { return {which: 'main'}; }\n"
                   "function other(args) { return {which: 'other'}; }\n"),
    "non_dict": "function main(args) { return 42; }\n",
    "array": "function main(args) { return [1, 'two']; }\n",
    "env": ("function main(args) {\n  const out = {};\n  for (const [k, v] of Object.entries(process.env))\n"
            "    if (k.startsWith('__OW_')) out[k] = v;\n  return out;\n}\n"),
    "logs": ("function main(args) {\n  console.log('out', args.i);\n  console.error('err', args.i);\n"
             "  return {};\n}\n"),
    "many_lines": "function main(args) {\n  for (let i = 0; i < 100; i++) console.log('x'.repeat(100));\n  return {};\n}\n",
    "sleep": "function main(args) { return new Promise(resolve => setTimeout(() => resolve({}), 10000)); }\n",
    "crash": "function main(args) { process.exit(3); }\n",
    "oom": ("function main(args) {\n  const keep = [];\n  for (;;) keep.push(new Array(1000000).fill(keep.length));\n"
            "}\n"),
    "exception": "function main(args) { throw new Error('bad input'); }\n",
    "huge_line": ("function main(args) {\n  console.log('y'.repeat(5 * 1024 * 1024));\n"
                  "  for (let i = 0; i < 20000; i++) console.log('line', i);\n  return {ok: true};\n}\n"),
}

JAVA = {  # class name -> source; each behaviour is one class of one jar
    "Echo": "public class Echo { public static JsonObject main(JsonObject args) { return args; } }",
    "Other": ("public class Other {\n  public static JsonObject main(JsonObject a) { JsonObject o = new JsonObject();"
              " o.addProperty(\"which\", \"main\"); return o; }\n"
              "  public static JsonObject other(JsonObject a) { JsonObject o = new JsonObject();"
              " o.addProperty(\"which\", \"other\"); return o; }\n}"),
    "Env": ("public class Env { public static JsonObject main(JsonObject args) { JsonObject o = new JsonObject();\n"
            "  for (java.util.Map.Entry<String, String> e : System.getenv().entrySet())\n"
            "    if (e.getKey().startsWith(\"__OW_\")) o.addProperty(e.getKey(), e.getValue());\n  return o; } }"),
    "Logs": ("public class Logs { public static JsonObject main(JsonObject args) {\n"
             "  System.out.println(\"out \" + args.get(\"i\").getAsInt());\n"
             "  System.err.println(\"err \" + args.get(\"i\").getAsInt());\n  return new JsonObject(); } }"),
    "ManyLines": ("public class ManyLines { public static JsonObject main(JsonObject args) {\n"
                  "  for (int i = 0; i < 100; i++) System.out.println(\"x\".repeat(100));\n"
                  "  return new JsonObject(); } }"),
    "Sleep": ("public class Sleep { public static JsonObject main(JsonObject args) throws Exception {\n"
              "  Thread.sleep(10000); return new JsonObject(); } }"),
    "Crash": "public class Crash { public static JsonObject main(JsonObject args) { System.exit(3); return null; } }",
    "Oom": ("public class Oom { public static JsonObject main(JsonObject args) {\n"
            "  java.util.List<long[]> keep = new java.util.ArrayList<>();\n"
            "  for (;;) keep.add(new long[1 << 20]); } }"),
    "Fail": ("public class Fail { public static JsonObject main(JsonObject args) {\n"
             "  throw new IllegalArgumentException(\"bad input\"); } }"),
    "HugeLine": ("public class HugeLine { public static JsonObject main(JsonObject args) {\n"
                 "  System.out.println(\"y\".repeat(5 * 1024 * 1024));\n"
                 "  for (int i = 0; i < 20000; i++) System.out.println(\"line \" + i);\n"
                 "  JsonObject o = new JsonObject(); o.addProperty(\"ok\", true); return o; } }"),
}
JAVA_CLASS = {"echo": "Echo", "other_main": "Other#other", "env": "Env", "logs": "Logs",
              "many_lines": "ManyLines", "sleep": "Sleep", "crash": "Crash", "oom": "Oom",
              "exception": "Fail", "huge_line": "HugeLine"}


@cache
def java_jar() -> str:
    """Every Java behaviour compiled into one jar (base64), against the launcher's Gson."""
    from backend.languages.java import host_cache
    from backend.launchers.java.build import ensure_launcher

    gson = ensure_launcher(host_cache()).split(":")[1]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "out")
        src.mkdir()
        out.mkdir()
        for name, body in JAVA.items():
            (src / f"{name}.java").write_text("import com.google.gson.JsonObject;\n" + body + "\n")
        subprocess.run(["javac", "--release", "17", "-cp", gson, "-d", str(out), *map(str, src.glob("*.java"))],
                       check=True, capture_output=True)
        return base64.b64encode(zipped(out)).decode()


def zipped(directory: Path) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return data.getvalue()


@dataclass(frozen=True)
class Kit:
    kind: str
    exception_result: dict[str, Any]  # what an action that raises "bad input" returns
    exception_log: str  # and a line of its logs holds this
    cannot: dict[str, str] = field(default_factory=dict)  # behaviour -> why this language cannot
    host_program: str | None = None

    def init(self, behaviour: str) -> dict[str, Any]:
        if behaviour in self.cannot:
            import pytest

            pytest.skip(f"{self.kind}: {self.cannot[behaviour]}")
        family = self.kind.partition(":")[0]
        if family == "java":
            code, binary, main = java_jar(), True, JAVA_CLASS[behaviour]
        else:
            source = (PYTHON if family == "python" else NODEJS)[behaviour]
            main = "main"
            if behaviour == "other_main":
                main = "other"
            code, binary = source, False
        return {"name": "t", "main": main, "code": code, "binary": binary, "env": {}}

    def available(self) -> str | None:
        """Why this host cannot run the kind in the process runtime, or None."""
        if self.host_program and shutil.which(self.host_program) is None:
            return f"{self.host_program} is not installed here"
        return None


KITS = [
    Kit("python:3", {"error": "bad input"}, "ValueError: bad input"),
    Kit("python:3.11", {"error": "bad input"}, "ValueError: bad input"),
    Kit("nodejs:18", {"error": "An error has occurred: Error: bad input"}, "Error: bad input",
        host_program="node"),
    Kit("java:17", {"error": "An error has occurred while invoking the action (see logs for details): "
                             "java.lang.IllegalArgumentException: bad input"},
        "java.lang.IllegalArgumentException: bad input",
        cannot={"non_dict": "its main returns a JsonObject by its signature",
                "array": "its main returns a JsonObject by its signature"},
        host_program="java"),
]
