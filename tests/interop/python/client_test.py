#!/usr/bin/python3
"""An independent (non-.NET) client of the DeepSeek.Search gRPC service.

It compiles the repository's .proto files at run time (Debian's protoc from protobuf-compiler, matching Debian's
python3-protobuf runtime; python3-grpcio for the calls), then drives a running server: health, reflection, CreateCollection, a two-batch UpsertDocuments
stream, BM25 (and dense) searches as two principals, GetDocument, a typed metadata filter, Ask (with --ask: the server
has a generator) as two principals, bad input and DropCollection. One line per check; the first failed check ends the run with exit code 1 and says what was expected.

    /usr/bin/python3 tests/interop/python/client_test.py --address 127.0.0.1:50051 \
        --admin-key ADMIN --alice-key ALICE --bob-key BOB [--encoder /abs/encoder/folder] [--collection NAME]

Keys may also come from DSS_ADMIN_KEY, DSS_ALICE_KEY and DSS_BOB_KEY (so they need not appear in a process list).
The alice key's principal must be "alice", the bob key's must be in group "team-b" (and not be "alice"); both need the
read right on the collection, the admin key the admin right. Keys are never printed.
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


class CheckFailed(Exception):
    pass


def fail(message):
    raise CheckFailed(message)


def ok(message):
    print("ok   " + message, flush=True)


PROTOC = "/usr/bin/protoc"
WELL_KNOWN = "/usr/include"  # google/protobuf/*.proto, from libprotobuf-dev


class Stub:
    """Callables for every RPC of one service, made from its descriptor (no generated _grpc module needed): each method
    uses the call shape (unary or streaming on either side) that the .proto declares."""

    def __init__(self, channel, file_descriptor, service):
        from google.protobuf import descriptor_pb2, symbol_database
        db = symbol_database.Default()
        fdp = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(fdp)
        svc = next(s for s in fdp.service if s.name == service)
        full = f"{fdp.package}.{svc.name}"
        for m in svc.method:
            req, resp = db.GetSymbol(m.input_type.lstrip(".")), db.GetSymbol(m.output_type.lstrip("."))
            shape = {(False, False): channel.unary_unary, (False, True): channel.unary_stream,
                     (True, False): channel.stream_unary, (True, True): channel.stream_stream}[
                (m.client_streaming, m.server_streaming)]
            setattr(self, m.name, shape(f"/{full}/{m.name}", request_serializer=req.SerializeToString,
                                        response_deserializer=resp.FromString))


def load_stubs(protos_dir, out_dir):
    """Compiles search.proto plus the health and reflection protos into out_dir with Debian's protoc and imports them."""
    try:
        import grpc  # noqa: F401
        import google.protobuf  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"FAIL python module missing ({e}): run make setup (apt python3-grpcio python3-protobuf)\n")
        sys.exit(2)
    if not os.access(PROTOC, os.X_OK) or not os.path.isfile(os.path.join(WELL_KNOWN, "google/protobuf/struct.proto")):
        sys.stderr.write(f"FAIL {PROTOC} or {WELL_KNOWN}/google/protobuf missing: run make setup "
                         "(apt protobuf-compiler libprotobuf-dev)\n")
        sys.exit(2)
    local = os.path.join(HERE, "protos")
    files = [
        ("deepseek/search/v1/search.proto", protos_dir),
        ("grpc/health/v1/health.proto", local),
        ("grpc/reflection/v1alpha/reflection.proto", local),
    ]
    for name, root in files:
        if not os.path.isfile(os.path.join(root, name)):
            fail(f"proto file not found: {os.path.join(root, name)}")
        done = subprocess.run([PROTOC, "-I" + root, "-I" + WELL_KNOWN, "--python_out=" + out_dir, name],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            fail(f"protoc failed on {os.path.join(root, name)} (exit {done.returncode}): {done.stderr.strip()}")
    sys.path.insert(0, out_dir)
    # The health and reflection modules live under the package name grpc, which is the installed grpcio package:
    # let grpc's package path also cover the generated folder so grpc.health.v1 and grpc.reflection.v1alpha resolve.
    import grpc
    grpc.__path__.append(os.path.join(out_dir, "grpc"))
    return {key: importlib.import_module(mod) for key, mod in [
        ("pb", "deepseek.search.v1.search_pb2"), ("hpb", "grpc.health.v1.health_pb2"),
        ("rpb", "grpc.reflection.v1alpha.reflection_pb2")]}


def bearer(key):
    return (("authorization", "Bearer " + key),)


def expect_status(what, code, call, *must_contain):
    """Runs call(), which must fail with the status code; returns the status message."""
    import grpc
    try:
        call()
    except grpc.RpcError as e:
        if e.code() != code:
            fail(f"{what}: expected {code.name}, got {e.code().name}: {e.details()!r}")
        message = e.details() or ""
        for s in must_contain:
            if s not in message:
                fail(f"{what}: the {code.name} message should name {s!r}, got {message!r}")
        ok(f"{what} -> {code.name}: {message}")
        return message
    fail(f"{what}: expected {code.name}, the call succeeded")


def ids(response):
    return [h.id for h in response.hits]


def describe(fd):
    """The wire contract of a FileDescriptorProto: messages with their fields (name, number, type, label, oneof,
    proto3 optional), enums with their values, services with their methods and streaming flags."""
    out = set()

    def walk_message(m, prefix):
        full = prefix + m.name
        for f in m.field:
            oneof = m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else ""
            out.add(("field", full, f.name, f.number, f.type, f.label, f.type_name, oneof, f.proto3_optional))
        for e in m.enum_type:
            walk_enum(e, full + ".")
        for n in m.nested_type:
            walk_message(n, full + ".")

    def walk_enum(e, prefix):
        for v in e.value:
            out.add(("enum", prefix + e.name, v.name, v.number))

    for m in fd.message_type:
        walk_message(m, "")
    for e in fd.enum_type:
        walk_enum(e, "")
    for s in fd.service:
        for m in s.method:
            out.add(("method", s.name, m.name, m.input_type, m.output_type, m.client_streaming, m.server_streaming))
    out.add(("package", fd.package))
    return out


def run(args, m):
    import grpc
    from google.protobuf import descriptor_pb2
    pb, hpb, rpb = m["pb"], m["hpb"], m["rpb"]
    channel = grpc.insecure_channel(args.address)
    try:
        grpc.channel_ready_future(channel).result(timeout=15)
    except grpc.FutureTimeoutError:
        fail(f"no gRPC server reachable at {args.address} within 15 s")
    search = Stub(channel, pb.DESCRIPTOR, "SearchService")
    health = Stub(channel, hpb.DESCRIPTOR, "Health")
    admin, alice, bob = bearer(args.admin_key), bearer(args.alice_key), bearer(args.bob_key)
    coll = args.collection
    service_name = pb.DESCRIPTOR.services_by_name["SearchService"].full_name
    health_name = f"{service_name}/{coll}"
    serving = hpb.HealthCheckResponse.SERVING

    # Health without a key.
    st = health.Check(hpb.HealthCheckRequest(service=""), timeout=10).status
    if st != serving:
        fail(f"Health/Check(\"\"): expected SERVING, got {hpb.HealthCheckResponse.ServingStatus.Name(st)}")
    ok("Health/Check(\"\") without a key: SERVING")
    expect_status(f"Health/Check({health_name!r}) before CreateCollection", grpc.StatusCode.NOT_FOUND,
                  lambda: health.Check(hpb.HealthCheckRequest(service=health_name), timeout=10))

    # Reflection: list services, then the file that defines SearchService, compared with the repository's proto.
    refl = Stub(channel, rpb.DESCRIPTOR, "ServerReflection")
    requests = [rpb.ServerReflectionRequest(list_services="*"),
                rpb.ServerReflectionRequest(file_containing_symbol=service_name)]
    responses = list(refl.ServerReflectionInfo(iter(requests), timeout=10))
    if len(responses) != 2:
        fail(f"reflection: expected 2 responses to 2 requests, got {len(responses)}")
    if responses[0].WhichOneof("message_response") != "list_services_response":
        fail(f"reflection list_services: got {responses[0].WhichOneof('message_response')}: {responses[0]}")
    names = sorted(s.name for s in responses[0].list_services_response.service)
    for want in (service_name, "grpc.health.v1.Health"):
        if want not in names:
            fail(f"reflection list_services: {want} missing from {names}")
    ok(f"reflection list_services: {', '.join(names)}")
    if responses[1].WhichOneof("message_response") != "file_descriptor_response":
        fail(f"reflection file_containing_symbol({service_name}): got {responses[1]}")
    files = {}
    for raw in responses[1].file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(raw)
        files[fd.name] = fd
    served = next((fd for fd in files.values() if any(s.name == "SearchService" for s in fd.service)), None)
    if served is None:
        fail(f"reflection: no file among {sorted(files)} defines SearchService")
    local = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(local)
    if served.name != local.name:
        fail(f"reflection: the service's file is {served.name!r}, the repository's is {local.name!r}")
    for dep in served.dependency:
        if dep not in files:
            fail(f"reflection: the descriptor's dependency {dep} was not sent with it (got {sorted(files)})")
    only_served, only_local = describe(served) - describe(local), describe(local) - describe(served)
    if only_served or only_local:
        fail(f"reflection: the served descriptor differs from protos/{local.name}: "
             f"only served {sorted(only_served)[:5]}, only in the repository {sorted(only_local)[:5]}")
    methods = [x.name for x in served.service[0].method]
    ok(f"reflection {served.name}: {len(served.message_type)} messages, methods {', '.join(methods)}; "
       f"matches protos/ field by field")

    # Bad input and auth before the collection exists.
    expect_status("CreateCollection without a key", grpc.StatusCode.UNAUTHENTICATED,
                  lambda: search.CreateCollection(pb.CreateCollectionRequest(collection=coll), timeout=10))
    expect_status("CreateCollection with a wrong key", grpc.StatusCode.UNAUTHENTICATED,
                  lambda: search.CreateCollection(pb.CreateCollectionRequest(collection=coll), timeout=10,
                                                  metadata=bearer("not-a-key")))
    expect_status("CreateCollection with alice's read key", grpc.StatusCode.PERMISSION_DENIED,
                  lambda: search.CreateCollection(pb.CreateCollectionRequest(collection=coll), timeout=10, metadata=alice))
    expect_status("CreateCollection with a bad name", grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: search.CreateCollection(pb.CreateCollectionRequest(collection="../escape"), timeout=10,
                                                  metadata=admin), "../escape")

    # Create.
    created = search.CreateCollection(pb.CreateCollectionRequest(collection=coll, encoder_path=args.encoder or ""),
                                      timeout=60, metadata=admin).collection
    if created.name != coll or created.has_dense != bool(args.encoder):
        fail(f"CreateCollection: expected name {coll} has_dense {bool(args.encoder)}, got {created}")
    ok(f"CreateCollection {coll} (admin): has_dense={created.has_dense} encoder={created.encoder!r} seq={created.seq}")
    st = health.Check(hpb.HealthCheckRequest(service=health_name), timeout=10).status
    if st != serving:
        fail(f"Health/Check({health_name!r}) after CreateCollection: got {hpb.HealthCheckResponse.ServingStatus.Name(st)}")
    ok(f"Health/Check({health_name!r}): SERVING")

    # Upsert two batches on one stream.
    def doc(i, title, text, acl, owner, year, draft):
        d = pb.Document(id=i, title=title, text=text, acl=acl)
        d.metadata.update({"owner": owner, "year": year, "draft": draft})
        return d

    alice_acl, bob_acl = pb.Acl(principals=["alice"]), pb.Acl(groups=["team-b"])
    batches = [
        pb.UpsertRequest(collection=coll, batch_number=7, documents=[
            doc("a1", "Alice volcano", "Alice's notes on the volcano: lava flows and magma.", alice_acl, "alice", 2021, False),
            doc("a2", "Alice glacier", "Alice writes about the glacier on the volcano.", alice_acl, "alice", 2023, True)]),
        pb.UpsertRequest(collection=coll, batch_number=8, documents=[
            doc("b1", "Team B volcano", "Team B measured the volcano's lava temperature.", bob_acl, "bob", 2022, False),
            doc("b2", "Team B ocean", "Team B studies the ocean near the volcano island.", bob_acl, "bob", 2024, True)]),
    ]
    acks = list(search.UpsertDocuments(iter(batches), timeout=120, metadata=admin))
    if [a.batch_number for a in acks] != [7, 8]:
        fail(f"UpsertDocuments: expected one ack per batch, batch numbers [7, 8], got {[a.batch_number for a in acks]}")
    if not (0 < acks[0].seq < acks[1].seq):
        fail(f"UpsertDocuments: ack seqs must be positive and increasing, got {[a.seq for a in acks]}")
    if [a.upserted for a in acks] != [2, 2]:
        fail(f"UpsertDocuments: expected 2 upserted per batch, got {[a.upserted for a in acks]}")
    if args.encoder and any(a.chunks < 2 for a in acks):
        fail(f"UpsertDocuments: a dense collection embeds at least one chunk per document, got {[a.chunks for a in acks]}")
    ok(f"UpsertDocuments 2 batches: acks {[(a.batch_number, a.seq, a.upserted) for a in acks]}")
    again = list(search.UpsertDocuments(iter([batches[0]]), timeout=60, metadata=admin))
    if len(again) != 1 or again[0].seq != 0 or again[0].unchanged != 2 or again[0].upserted != 0:
        fail(f"UpsertDocuments of an unchanged batch: expected seq 0, unchanged 2, got {again}")
    ok("UpsertDocuments of the same batch again: seq 0, unchanged 2")

    # Searches as the two principals.
    def search_as(who, md, mode, **kw):
        return search.Search(pb.SearchRequest(collection=coll, query="volcano lava", k=10, mode=mode, **kw),
                             timeout=30, metadata=md)

    modes = [("BM25", pb.SEARCH_MODE_BM25)] + ([("DENSE", pb.SEARCH_MODE_DENSE), ("HYBRID", pb.SEARCH_MODE_HYBRID)]
                                               if args.encoder else [])
    for mode_name, mode in modes:
        for who, md, want in (("alice", alice, {"a1", "a2"}), ("bob", bob, {"b1", "b2"})):
            r = search_as(who, md, mode)
            got = ids(r)
            if sorted(got) != sorted(want):
                fail(f"Search {mode_name} as {who}: expected exactly {sorted(want)}, got {got}")
            if r.seq != acks[1].seq:
                fail(f"Search {mode_name} as {who}: expected seq {acks[1].seq} (the last ack), got {r.seq}")
            scores = [h.score for h in r.hits]
            if scores != sorted(scores, reverse=True):
                fail(f"Search {mode_name} as {who}: scores not best first: {scores}")
            ok(f"Search {mode_name} as {who}: {got} (never the other's) at seq {r.seq}")
    r = search_as("admin", admin, pb.SEARCH_MODE_BM25)
    if ids(r):
        fail(f"Search as admin: admin rights do not bypass ACLs, expected no hits, got {ids(r)}")
    ok("Search as admin (no ACL entry): no hits")

    # Struct metadata round trip: string, number, bool keep their kinds.
    hit = next(h for h in search_as("alice", alice, pb.SEARCH_MODE_BM25).hits if h.id == "a1")
    fields = hit.metadata.fields
    kinds = {k: fields[k].WhichOneof("kind") for k in fields}
    if kinds != {"owner": "string_value", "year": "number_value", "draft": "bool_value"} \
            or fields["owner"].string_value != "alice" or fields["year"].number_value != 2021 \
            or fields["draft"].bool_value is not False or hit.title != "Alice volcano":
        fail(f"Search hit a1: metadata should round-trip as owner=string 'alice', year=number 2021, draft=bool false, "
             f"got {dict(hit.metadata)} with kinds {kinds}, title {hit.title!r}")
    ok(f"Search hit metadata Struct: {kinds}")

    # GetDocument: own document, the other's (hidden), an unknown id.
    got = search.GetDocument(pb.GetDocumentRequest(collection=coll, id="a2"), timeout=10, metadata=alice)
    if got.document.id != "a2" or got.document.title != "Alice glacier" or list(got.document.acl.principals) != ["alice"] \
            or got.document.metadata.fields["draft"].bool_value is not True or got.version != acks[0].seq:
        fail(f"GetDocument a2 as alice: got {got}")
    ok(f"GetDocument a2 as alice: version {got.version}, acl {list(got.document.acl.principals)}")
    hidden = expect_status("GetDocument b1 as alice (hidden)", grpc.StatusCode.NOT_FOUND,
                           lambda: search.GetDocument(pb.GetDocumentRequest(collection=coll, id="b1"), timeout=10,
                                                      metadata=alice), "b1")
    unknown = expect_status("GetDocument zz9 as alice (unknown)", grpc.StatusCode.NOT_FOUND,
                            lambda: search.GetDocument(pb.GetDocumentRequest(collection=coll, id="zz9"), timeout=10,
                                                       metadata=alice), "zz9")
    if hidden.replace("b1", "<id>") != unknown.replace("zz9", "<id>"):
        fail(f"GetDocument: a hidden document must read exactly like an unknown one: {hidden!r} vs {unknown!r}")
    ok("GetDocument hidden and unknown: the same message shape")

    # Typed metadata filters.
    def compare(keys, op, **value):
        return pb.Filter(compare=pb.FilterCompare(field=pb.FieldPath(keys=keys), op=op, value=pb.FilterValue(**value)))

    filters = [
        ("year >= 2022", compare(["year"], pb.COMPARE_OP_GREATER_OR_EQUAL, number_value=2022), alice, ["a2"]),
        ("draft = false", compare(["draft"], pb.COMPARE_OP_EQUAL, bool_value=False), alice, ["a1"]),
        ("owner = 'bob' AND NOT draft = true",
         pb.Filter(**{"and": pb.FilterList(operands=[compare(["owner"], pb.COMPARE_OP_EQUAL, string_value="bob"),
                                                      pb.Filter(**{"not": compare(["draft"], pb.COMPARE_OP_EQUAL, bool_value=True)})])}),
         bob, ["b1"]),
        ("owner IN ('bob') as alice",
         pb.Filter(**{"in": pb.FilterIn(field=pb.FieldPath(keys=["owner"]), values=[pb.FilterValue(string_value="bob")])}),
         alice, []),
        ("year = '2021' (a string never equals a number)", compare(["year"], pb.COMPARE_OP_EQUAL, string_value="2021"), alice, []),
    ]
    for text, flt, md, want in filters:
        r = search.Search(pb.SearchRequest(collection=coll, query="volcano", k=10, mode=pb.SEARCH_MODE_BM25, filter=flt),
                          timeout=30, metadata=md)
        if sorted(ids(r)) != want:
            fail(f"Search with filter {text}: expected {want}, got {ids(r)}")
        ok(f"Search with filter {text}: {ids(r)}")

    # Bad input.
    def bad_search(**kw):
        req = dict(collection=coll, query="volcano", k=10)
        req.update(kw)
        return lambda: search.Search(pb.SearchRequest(**req), timeout=10, metadata=alice)

    expect_status("Search k=0", grpc.StatusCode.INVALID_ARGUMENT, bad_search(k=0), "k")
    expect_status("Search k=-1", grpc.StatusCode.INVALID_ARGUMENT, bad_search(k=-1), "-1")
    expect_status("Search empty query", grpc.StatusCode.INVALID_ARGUMENT, bad_search(query=""), "query")
    expect_status("Search mode=99 (not in the enum)", grpc.StatusCode.INVALID_ARGUMENT, bad_search(mode=99), "99")
    expect_status("Search comparison without an operator", grpc.StatusCode.INVALID_ARGUMENT,
                  bad_search(filter=compare(["year"], pb.COMPARE_OP_UNSPECIFIED, number_value=1)))
    expect_status("Search an empty Filter (no node)", grpc.StatusCode.INVALID_ARGUMENT, bad_search(filter=pb.Filter()))
    if not args.encoder:
        expect_status("Search DENSE without a dense index", grpc.StatusCode.INVALID_ARGUMENT,
                      bad_search(mode=pb.SEARCH_MODE_DENSE))
    expect_status("Search without a key", grpc.StatusCode.UNAUTHENTICATED,
                  lambda: search.Search(pb.SearchRequest(collection=coll, query="volcano", k=10), timeout=10))
    expect_status("Search an unknown collection", grpc.StatusCode.NOT_FOUND,
                  lambda: search.Search(pb.SearchRequest(collection=coll + "-missing", query="volcano", k=10),
                                        timeout=10, metadata=bob), coll + "-missing")
    expect_status("UpsertDocuments with alice's read key", grpc.StatusCode.PERMISSION_DENIED,
                  lambda: list(search.UpsertDocuments(iter([batches[0]]), timeout=10, metadata=alice)))
    dup = pb.UpsertRequest(collection=coll, batch_number=9, documents=[pb.Document(id="d", text="x"), pb.Document(id="d", text="y")])
    expect_status("UpsertDocuments with a duplicate id in one batch", grpc.StatusCode.INVALID_ARGUMENT,
                  lambda: list(search.UpsertDocuments(iter([dup]), timeout=10, metadata=admin)), "d")
    expect_status("DropCollection with alice's read key", grpc.StatusCode.PERMISSION_DENIED,
                  lambda: search.DropCollection(pb.DropCollectionRequest(collection=coll), timeout=10, metadata=alice))

    if args.ask:
        # Ask (server streaming): answer deltas, then one result whose sources and citations are the caller's documents only.
        for who, md, want in (("alice", alice, {"a1", "a2"}), ("bob", bob, {"b1", "b2"})):
            msgs = list(search.Ask(pb.AskRequest(collection=coll, question="volcano lava", max_new_tokens=16), timeout=120, metadata=md))
            kinds = [m.WhichOneof("event") for m in msgs]
            if not msgs or kinds[-1] != "result" or any(k != "delta" for k in kinds[:-1]):
                fail(f"Ask as {who}: expected delta messages then one result, got {kinds}")
            r = msgs[-1].result
            if "".join(m.delta.text for m in msgs[:-1]) != r.answer:
                fail(f"Ask as {who}: the deltas do not add up to the answer {r.answer!r}")
            sources = {x.document_id for x in r.sources}
            cited = {x.document_id for x in r.citations}
            if not sources or not sources <= want or not cited <= sources or r.no_sources:
                fail(f"Ask as {who}: sources {sorted(sources)} and citations {sorted(cited)} must be non-empty subsets of {sorted(want)}")
            ok(f"Ask as {who}: {len(msgs) - 1} deltas, sources {sorted(sources)}, citations {sorted(cited)} (never the other's)")
        expect_status("Ask with an empty question", grpc.StatusCode.INVALID_ARGUMENT,
                      lambda: list(search.Ask(pb.AskRequest(collection=coll, question=" "), timeout=10, metadata=alice)), "question")

    # Drop.
    search.DropCollection(pb.DropCollectionRequest(collection=coll), timeout=60, metadata=admin)
    ok(f"DropCollection {coll} (admin)")
    expect_status("Search after DropCollection", grpc.StatusCode.NOT_FOUND,
                  lambda: search.Search(pb.SearchRequest(collection=coll, query="volcano", k=10), timeout=10, metadata=alice), coll)
    expect_status(f"Health/Check({health_name!r}) after DropCollection", grpc.StatusCode.NOT_FOUND,
                  lambda: health.Check(hpb.HealthCheckRequest(service=health_name), timeout=10))
    channel.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", required=True, help="host:port of a plaintext server, e.g. 127.0.0.1:50051")
    p.add_argument("--admin-key", default=os.environ.get("DSS_ADMIN_KEY"))
    p.add_argument("--alice-key", default=os.environ.get("DSS_ALICE_KEY"))
    p.add_argument("--bob-key", default=os.environ.get("DSS_BOB_KEY"))
    p.add_argument("--collection", default="interop-py", help="a collection name that does not exist yet")
    p.add_argument("--encoder", default="", help="an encoder folder on the server: the collection gets a dense index")
    p.add_argument("--ask", action="store_true", help="the server has a generator: also check the Ask RPC")
    p.add_argument("--protos", default=os.path.join(REPO, "protos"), help="the folder holding deepseek/search/v1/search.proto")
    args = p.parse_args()
    for name in ("admin_key", "alice_key", "bob_key"):
        if not getattr(args, name):
            p.error(f"--{name.replace('_', '-')} (or DSS_{name.upper()}) is required")
    if args.address.startswith("http://"):
        args.address = args.address[len("http://"):]
    with tempfile.TemporaryDirectory(prefix="dss-interop-") as out:
        try:
            stubs = load_stubs(args.protos, out)
            run(args, stubs)
        except CheckFailed as e:
            print("FAIL " + str(e), flush=True)
            return 1
        except Exception as e:  # an unexpected RPC error or client bug: name it, still fail
            details = e.details() if hasattr(e, "details") else ""
            code = e.code().name if hasattr(e, "code") else ""
            print(f"FAIL unexpected {type(e).__name__} {code} {details or e}", flush=True)
            return 1
    print("PASS all checks", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
