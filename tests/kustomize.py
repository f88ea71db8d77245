"""The part of kustomize that infra/k8s uses, in Python: the kustomize binary is not installed
here (its releases are GitHub downloads), and the tests must render what ``kubectl apply -k``
would apply.

Supported, and nothing else (an unknown field of a kustomization.yaml is an error, so a
feature added to the manifests cannot be silently skipped by the tests): ``resources`` (files
and directories), ``namespace``, ``labels`` (``pairs``, ``includeTemplates``), ``images``
(``newName``, ``newTag``, ``digest``), ``patches`` (a file holding a strategic-merge patch,
its target found by kind and name), ``configMapGenerator`` and ``secretGenerator``
(``literals``, ``envs``, ``files``, ``options.labels``, ``behavior`` create, merge or replace).
Generated names get a content-hash suffix and every reference to them follows, as kustomize
does; the suffix's digits differ from kustomize's own (a different hash encoding).

Checked once against the real one (kubectl 1.37.1, kustomize v5.8.1, from a scratch folder
outside the project, 2026-12-07): both renders of infra/k8s gave the same objects field for
field, apart from those digits and the line breaks of base64 in Secrets.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
Reader = Callable[[Path], bytes]

KNOWN_FIELDS = frozenset({"apiVersion", "kind", "resources", "namespace", "labels", "images",
                          "patches", "configMapGenerator", "secretGenerator"})
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding",
                            "CustomResourceDefinition", "PriorityClass", "StorageClass"})
# Strategic merge: lists merged item by item on these keys (from the Kubernetes OpenAPI
# patch-merge-key of each field); every other list is replaced.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name"}
GENERATED = "__generated__"


def build(root: Path, read: Reader = Path.read_bytes) -> list[Obj]:
    """The objects ``kubectl kustomize root`` prints.  ``read`` opens the files generators
    name (a test may hand over placeholders for files that git ignores)."""
    objects = _build(root.resolve(), read)
    _suffix_generated_names(objects)
    for obj in objects:
        obj.pop(GENERATED, None)
    return objects


def _build(root: Path, read: Reader) -> list[Obj]:
    spec = yaml.safe_load((root / "kustomization.yaml").read_text())
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise NotImplementedError(f"{root}: tests/kustomize.py does not do {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        path = (root / entry).resolve()
        objects += _build(path, read) if path.is_dir() else _load(path)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in spec.get(key, []):
            _generate(objects, kind, generator, root, read)
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise NotImplementedError(f"{root}: only file patches ({patch})")
        _patch(objects, _load(root / patch["path"]))
    for image in spec.get("images", []):
        _set_image(objects, image)
    for label in spec.get("labels", []):
        _label(objects, label)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    return objects


def _load(path: Path) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` named ``name`` (a generated name without its suffix)."""
    def called(obj: Obj) -> bool:
        actual: str = obj.get(GENERATED, obj["metadata"]["name"])
        suffix = actual.removeprefix(name + "-")
        return actual == name or (suffix != actual and len(suffix) == 10 and suffix.isalnum())

    found = [obj for obj in objects if obj["kind"] == kind and called(obj)]
    if len(found) != 1:
        raise LookupError(f"{len(found)} objects {kind}/{name}")
    return found[0]


def _generate(objects: list[Obj], kind: str, generator: Obj, root: Path, read: Reader) -> None:
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        name, _, value = literal.partition("=")
        data[name] = value
    for env in generator.get("envs", []):
        for line in read(root / env).decode().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, _, value = line.partition("=")
                data[name.strip()] = value
    for file in generator.get("files", []):
        name, _, path = file.rpartition("=")
        data[name or Path(path).name] = read(root / path).decode()
    labels = generator.get("options", {}).get("labels", {})
    behavior = generator.get("behavior", "create")
    if behavior == "create":
        obj: Obj = {"apiVersion": "v1", "kind": kind, GENERATED: generator["name"],
                    "metadata": {"name": generator["name"]}}
        if kind == "Secret":
            obj["type"] = "Opaque"
        objects.append(obj)
    else:
        obj = find(objects, kind, generator["name"])
        if behavior == "merge":
            data = {**_plain(obj), **data}
    obj["metadata"].setdefault("labels", {}).update(labels)
    obj["data"] = ({key: base64.b64encode(value.encode()).decode() for key, value in
                    data.items()} if kind == "Secret" else data)


def _plain(obj: Obj) -> dict[str, str]:
    data: dict[str, str] = obj.get("data", {})
    if obj["kind"] == "Secret":
        return {key: base64.b64decode(value).decode() for key, value in data.items()}
    return dict(data)


def secret_values(obj: Obj) -> dict[str, str]:
    """A rendered Secret's values, decoded."""
    return _plain(obj)


def _patch(objects: list[Obj], patches: list[Obj]) -> None:
    for patch in patches:
        target = find(objects, patch["kind"], patch["metadata"]["name"])
        merged = merge(target, patch)
        target.clear()
        target.update(merged)


def merge(base: Any, patch: Any, field: str = "") -> Any:
    """``patch`` laid over ``base`` by the strategic-merge rules this project needs."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value, key) if key in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        out_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            at = [n for n, old in enumerate(out_list) if old.get(key) == item.get(key)]
            if at:
                out_list[at[0]] = merge(out_list[at[0]], item)
            else:
                out_list.append(item)
        return out_list
    return copy.deepcopy(patch)


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload (Deployment, Job, ...), or None."""
    template = obj.get("spec", {}).get("template")
    return None if template is None else dict(template["spec"])


def containers(obj: Obj) -> Iterator[Obj]:
    """Every container and init container of a workload."""
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def _set_image(objects: list[Obj], image: Obj) -> None:
    for obj in objects:
        for container in containers(obj):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if name != image["name"]:
                continue
            reference = image.get("newName", name)
            if "digest" in image:
                reference += "@" + image["digest"]
            elif "newTag" in image:
                reference += ":" + image["newTag"]
            container["image"] = reference


def _label(objects: list[Obj], label: Obj) -> None:
    if set(label) - {"pairs", "includeTemplates"}:
        raise NotImplementedError(f"labels: only pairs and includeTemplates ({label})")
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(label["pairs"])
        template = obj.get("spec", {}).get("template")
        if label.get("includeTemplates") and template is not None:
            template.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])


def _suffix_generated_names(objects: list[Obj]) -> None:
    renamed: dict[tuple[str, str], str] = {}
    for obj in objects:
        if GENERATED in obj:
            content = json.dumps({"kind": obj["kind"], "data": obj.get("data", {})},
                                 sort_keys=True)
            name = f"{obj[GENERATED]}-{hashlib.sha256(content.encode()).hexdigest()[:10]}"
            obj["metadata"]["name"] = name
            renamed[(obj["kind"], obj[GENERATED])] = name
    for obj in objects:
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if spec is not None:
            _rename_references(spec, renamed)


def _rename_references(spec: Obj, renamed: dict[tuple[str, str], str]) -> None:
    def swap(holder: Obj, field: str, kind: str) -> None:
        holder[field] = renamed.get((kind, holder[field]), holder[field])

    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        for source in container.get("envFrom", []):
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if field in source:
                    swap(source[field], "name", kind)
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if field in ref:
                    swap(ref[field], "name", kind)
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            swap(volume["configMap"], "name", "ConfigMap")
        if "secret" in volume:
            swap(volume["secret"], "secretName", "Secret")
