import Foundation
import TestSupport
import Testing
@testable import OPTCheckpoint

/// Fixture files written by tools/make_checkpoint_fixtures.py.
enum Fixtures {
    static let root = RepositoryPaths.fixtures("checkpoint")

    static func directory(_ name: String) -> URL {
        root.appendingPathComponent(name)
    }

    /// What expected.json records for one tensor.
    struct ExpectedTensor: Decodable {
        var dtype: String
        var shape: [Int]
        var f32Bits: [UInt32]?
        var ints: [Int64]?

        enum CodingKeys: String, CodingKey {
            case dtype, shape, ints
            case f32Bits = "f32_bits"
        }
    }

    /// Fixture folder → tensor name → expectation.
    static let expected: [String: [String: ExpectedTensor]] = {
        do {
            let data = try Data(contentsOf: root.appendingPathComponent("expected.json"))
            return try JSONDecoder().decode([String: [String: ExpectedTensor]].self, from: data)
        } catch {
            preconditionFailure("cannot read expected.json: \(error)")
        }
    }()
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("opt-checkpoint-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Expects `body` to throw a `CheckpointError` accepted by `matching` whose description names `path`.
func expectCheckpointError(
    mentioning path: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void,
    matching: (CheckpointError) -> Bool
) {
    do {
        try body()
        Issue.record("expected a CheckpointError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        #expect(matching(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(path), "'\(error)' does not name \(path)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a CheckpointError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Opens `directory` and reads every tensor, returning the error if any; used where only "no crash" matters.
func openAndReadAll(_ directory: URL) -> (any Error)? {
    do {
        let checkpoint = try Checkpoint(directory: directory)
        for name in checkpoint.tensorNames {
            guard let info = checkpoint.info(name) else { continue }
            if info.dtype.convertsToFloat {
                _ = try checkpoint.floats(name)
            } else {
                _ = try checkpoint.withRawBytes(name) { $0.reduce(0) { $0 &+ Int($1) } }
            }
        }
        return nil
    } catch {
        return error
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Builds the bytes of a safetensors file from a header text, for malformed-header tests.
func safetensorsBytes(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.appendLittleEndian(declaredLength ?? UInt64(header.utf8.count))
    bytes += Array(header.utf8)
    return bytes + data
}

/// A minimal zip writer (stored or labelled-compressed entries, no CRCs) for malformed-archive tests.
struct ZipBuilder {
    var entries: [(name: String, data: [UInt8], method: UInt16)] = []

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0) {
        entries.append((name, data, method))
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let offset = out.count
            out.appendLittleEndian(UInt32(0x0403_4B50))
            for field: UInt16 in [20, 0, entry.method, 0, 0] { out.appendLittleEndian(field) }
            out.appendLittleEndian(UInt32(0))
            out.appendLittleEndian(UInt32(entry.data.count))
            out.appendLittleEndian(UInt32(entry.data.count))
            out.appendLittleEndian(UInt16(name.count))
            out.appendLittleEndian(UInt16(0))
            out += name + entry.data

            central.appendLittleEndian(UInt32(0x0201_4B50))
            for field: UInt16 in [20, 20, 0, entry.method, 0, 0] { central.appendLittleEndian(field) }
            central.appendLittleEndian(UInt32(0))
            central.appendLittleEndian(UInt32(entry.data.count))
            central.appendLittleEndian(UInt32(entry.data.count))
            for field: UInt16 in [UInt16(name.count), 0, 0, 0, 0] { central.appendLittleEndian(field) }
            central.appendLittleEndian(UInt32(0))
            central.appendLittleEndian(UInt32(offset))
            central += name
        }
        let directoryOffset = out.count
        out += central
        out.appendLittleEndian(UInt32(0x0605_4B50))
        for field: UInt16 in [0, 0, UInt16(entries.count), UInt16(entries.count)] { out.appendLittleEndian(field) }
        out.appendLittleEndian(UInt32(central.count))
        out.appendLittleEndian(UInt32(directoryOffset))
        out.appendLittleEndian(UInt16(0))
        return out
    }
}

/// Writes pickle opcodes by name, to hand-build torch state dicts (good and hostile).
struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func mark() { op(0x28) }
    mutating func stop() { op(0x2E) }
    mutating func tuple() { op(0x74) }
    mutating func emptyTuple() { op(0x29) }
    mutating func reduce() { op(0x52) }
    mutating func setItems() { op(0x75) }
    mutating func persistentID() { op(0x51) }
    mutating func newFalse() { op(0x89) }

    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func string(_ text: String) {
        op(0x58)
        bytes.appendLittleEndian(UInt32(text.utf8.count))
        bytes += Array(text.utf8)
    }

    mutating func int(_ value: Int32) {
        op(0x4A)
        bytes.appendLittleEndian(value)
    }

    mutating func intTuple(_ values: [Int32]) {
        mark()
        for value in values { int(value) }
        tuple()
    }

    /// `OrderedDict()`, as torch pickles backward hooks and state dicts.
    mutating func orderedDict() {
        global("collections", "OrderedDict")
        emptyTuple()
        reduce()
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`.
    mutating func tensor(storageType: String = "FloatStorage", key: String, storageCount: Int32,
                         offset: Int32, shape: [Int32], strides: [Int32]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark()
        string("storage")
        global("torch", storageType)
        string(key)
        string("cpu")
        int(storageCount)
        tuple()
        persistentID()
        int(offset)
        intTuple(shape)
        intTuple(strides)
        newFalse()
        orderedDict()
        tuple()
        reduce()
    }

    /// A complete state dict pickle whose entries are written by `items` between MARK and SETITEMS.
    static func stateDict(_ items: (inout PickleBuilder) -> Void) -> [UInt8] {
        var builder = PickleBuilder()
        builder.orderedDict()
        builder.mark()
        items(&builder)
        builder.setItems()
        builder.stop()
        return builder.bytes
    }
}

/// Float32 values as little-endian bytes.
func floatBytes(_ values: [Float]) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in values { bytes.appendLittleEndian(value.bitPattern) }
    return bytes
}

