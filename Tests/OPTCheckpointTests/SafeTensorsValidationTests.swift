import Foundation
import OPTSupport
import Testing
@testable import OPTCheckpoint

/// Corrupt safetensors files and indexes are refused with the specific error, naming the file.
struct SafeTensorsValidationTests {
    /// Writes `bytes` as model.safetensors in a fresh directory and expects opening it to fail as `matching` says.
    private func expectRejected(
        _ bytes: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation,
        matching: (CheckpointError) -> Bool
    ) throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("model.safetensors")
            try Data(bytes).write(to: file)
            expectCheckpointError(mentioning: file.path, sourceLocation: sourceLocation, {
                _ = try Checkpoint(directory: directory)
            }, matching: matching)
        }
    }

    private let twoFloats = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    @Test func acceptsAWellFormedHandWrittenFile() throws {
        try withTemporaryDirectory { directory in
            let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
            try Data(safetensorsBytes(header: header, data: floatBytes([1.5, -2]))).write(to: directory.appendingPathComponent("model.safetensors"))
            let checkpoint = try Checkpoint(directory: directory)
            #expect(try checkpoint.floats("a") == [1.5, -2])
            #expect(checkpoint.metadata == ["k": "v"])
        }
    }

    @Test func fileTooShortForTheLength() throws {
        try expectRejected([1, 2, 3]) { if case .invalidHeader = $0 { true } else { false } }
    }

    @Test func headerLengthBeyondTheFile() throws {
        try expectRejected(safetensorsBytes(header: twoFloats, data: floatBytes([1, 2]), declaredLength: 4096)) {
            if case .headerLengthOutOfRange(_, 4096, _) = $0 { true } else { false }
        }
    }

    @Test func headerLengthOverTheLimit() throws {
        try expectRejected(safetensorsBytes(header: twoFloats, data: [], declaredLength: UInt64.max)) {
            if case .headerLengthOutOfRange = $0 { true } else { false }
        }
    }

    @Test func malformedJSON() throws {
        try expectRejected(safetensorsBytes(header: #"{"a": {"dtype": "F32", "#, data: [])) {
            if case .invalidHeader = $0 { true } else { false }
        }
    }

    @Test func headerNotAnObject() throws {
        try expectRejected(safetensorsBytes(header: "[1, 2]  ", data: [])) {
            if case .invalidHeader = $0 { true } else { false }
        }
    }

    @Test func headerNotUTF8() throws {
        var bytes = safetensorsBytes(header: #"{"a":1}"#, data: [])
        bytes[10] = 0xFF
        try expectRejected(bytes) { if case .invalidHeader = $0 { true } else { false } }
    }

    @Test func metadataMustBeStrings() throws {
        try expectRejected(safetensorsBytes(header: #"{"__metadata__":{"n":1}}"#, data: [])) {
            if case .invalidHeader(_, let reason) = $0 { reason.contains("__metadata__") } else { false }
        }
    }

    @Test func unknownDType() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))) {
            if case .unknownDType(_, "a", "F7") = $0 { true } else { false }
        }
    }

    @Test func negativeDimension() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func fractionalDimension() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func missingField() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func offsetsNotAPair() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func beginAfterEnd() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func shapeOverflow() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#
        try expectRejected(safetensorsBytes(header: header, data: floatBytes([1, 2]))) {
            if case .invalidTensorEntry(_, "a", _) = $0 { true } else { false }
        }
    }

    @Test func shapeDisagreesWithOffsets() throws {
        try expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: floatBytes([1, 2]))) {
            if case .sizeMismatch(_, "a", 12, 8) = $0 { true } else { false }
        }
    }

    @Test func offsetsOutOfRange() throws {
        try expectRejected(safetensorsBytes(header: twoFloats, data: floatBytes([1]))) {
            if case .offsetsOutOfRange(_, "a", 8, 4) = $0 { true } else { false }
        }
    }

    @Test func overlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try expectRejected(safetensorsBytes(header: header, data: floatBytes([1, 2, 3]))) {
            if case .overlappingTensors(_, "b", "a") = $0 { true } else { false }
        }
    }

    @Test func holeBetweenTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        try expectRejected(safetensorsBytes(header: header, data: floatBytes([1, 2, 3]))) {
            if case .uncoveredData(_, 4 ..< 8) = $0 { true } else { false }
        }
    }

    @Test func trailingBytesBelongToNoTensor() throws {
        try expectRejected(safetensorsBytes(header: twoFloats, data: floatBytes([1, 2, 3]))) {
            if case .uncoveredData(_, 8 ..< 12) = $0 { true } else { false }
        }
    }

    @Test func shardFileMissing() throws {
        try withTemporaryDirectory { directory in
            let index = directory.appendingPathComponent("model.safetensors.index.json")
            try Data(#"{"weight_map":{"a":"model-00001-of-00002.safetensors"}}"#.utf8).write(to: index)
            expectCheckpointError(mentioning: index.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .missingShard(_, "model-00001-of-00002.safetensors") = $0 { true } else { false }
            }
        }
    }

    @Test func indexNamesATensorTheShardLacks() throws {
        try withTemporaryDirectory { directory in
            let shard = directory.appendingPathComponent("shard.safetensors")
            try Data(safetensorsBytes(header: twoFloats, data: floatBytes([1, 2]))).write(to: shard)
            try Data(#"{"weight_map":{"a":"shard.safetensors","b":"shard.safetensors"}}"#.utf8)
                .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
            expectCheckpointError(mentioning: shard.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .tensorMissingFromShard(_, "b") = $0 { true } else { false }
            }
        }
    }

    @Test(arguments: [
        #"{"weight_map": 3}"#,
        #"{"metadata": {}}"#,
        #"{"weight_map": {}}"#,
        #"{"weight_map": {"a": "../outside.safetensors"}}"#,
        "not json",
    ])
    func malformedIndex(text: String) throws {
        try withTemporaryDirectory { directory in
            let index = directory.appendingPathComponent("model.safetensors.index.json")
            try Data(text.utf8).write(to: index)
            expectCheckpointError(mentioning: index.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .invalidIndex = $0 { true } else { false }
            }
        }
    }

    @Test func weightFileIsADirectory() throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("model.safetensors")
            try FileManager.default.createDirectory(at: file, withIntermediateDirectories: false)
            expectCheckpointError(mentioning: file.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .fileAccess = $0 { true } else { false }
            }
        }
    }

    /// Truncations and random byte flips of real files never crash: they open (and read) or throw.
    @Test func mutatedFilesNeverCrash() throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.directory("safetensors_single").appendingPathComponent("model.safetensors")))
        var generator = SplitMix64(state: 42)
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("model.safetensors")
            for length in 0 ..< original.count {
                try Data(original[..<length]).write(to: file)
                #expect(openAndReadAll(directory) is CheckpointError, "truncated to \(length) bytes")
            }
            var refused = 0
            for _ in 0 ..< 400 {
                var mutated = original
                for _ in 0 ..< Int.random(in: 1 ... 4, using: &generator) {
                    mutated[Int.random(in: 0 ..< mutated.count, using: &generator)] = UInt8.random(in: 0 ... 255, using: &generator)
                }
                try Data(mutated).write(to: file)
                // A flip inside tensor data reads as other numbers; anything else is refused with a CheckpointError.
                if let error = openAndReadAll(directory) {
                    refused += 1
                    #expect(error is CheckpointError, "\(error)")
                }
            }
            #expect(refused > 0, "some flips hit the file's structure and must be refused")
        }
    }
}
