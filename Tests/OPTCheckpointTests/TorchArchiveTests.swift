import Foundation
import OPTSupport
import Testing
@testable import OPTCheckpoint

/// Hand-built torch zips: the reader accepts what torch.save writes and refuses everything hostile.
struct TorchArchiveTests {
    /// A state dict with one 2×2 float tensor `w` over storage "0".
    private var goodPickle: [UInt8] {
        PickleBuilder.stateDict { builder in
            builder.string("w")
            builder.tensor(key: "0", storageCount: 4, offset: 0, shape: [2, 2], strides: [2, 1])
        }
    }

    /// An archive with `pickle` as data.pkl and storage "0" holding four floats, plus `extra` entries.
    private func archive(pickle: [UInt8], storage: [UInt8] = floatBytes([1, 2, 3, 4]), pickleMethod: UInt16 = 0,
                         extra: [(String, [UInt8])] = []) -> [UInt8] {
        var zip = ZipBuilder()
        zip.add("archive/data.pkl", pickle, method: pickleMethod)
        zip.add("archive/data/0", storage)
        for (name, data) in extra { zip.add(name, data) }
        return zip.build()
    }

    /// Writes `bytes` as pytorch_model.bin in a fresh directory and hands both to `body`.
    private func withBin(_ bytes: [UInt8], _ body: (URL, URL) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("pytorch_model.bin")
            try Data(bytes).write(to: file)
            try body(directory, file)
        }
    }

    private func expectRejected(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation,
                                matching: (CheckpointError) -> Bool) throws {
        try withBin(bytes) { directory, file in
            expectCheckpointError(mentioning: file.path, sourceLocation: sourceLocation, {
                _ = try Checkpoint(directory: directory)
            }, matching: matching)
        }
    }

    @Test func handBuiltArchiveLoads() throws {
        try withBin(archive(pickle: goodPickle, extra: [("archive/byteorder", Array("little".utf8))])) { directory, _ in
            let checkpoint = try Checkpoint(directory: directory)
            #expect(checkpoint.info("w") == TensorInfo(name: "w", dtype: .f32, shape: [2, 2]))
            #expect(try checkpoint.floats("w") == [1, 2, 3, 4])
        }
    }

    @Test func truncatedZip() throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.directory("torch_single").appendingPathComponent("pytorch_model.bin")))
        try expectRejected(Array(original[..<(original.count / 2)])) {
            if case .invalidZip = $0 { true } else { false }
        }
    }

    @Test func notAZipAtAll() throws {
        try expectRejected(Array("hello, this is not a checkpoint at all".utf8)) {
            if case .invalidZip = $0 { true } else { false }
        }
    }

    @Test func missingDataPickle() throws {
        var zip = ZipBuilder()
        zip.add("archive/data/0", floatBytes([1]))
        try expectRejected(zip.build()) {
            if case .missingArchiveEntry(_, let entry) = $0 { entry.hasSuffix("data.pkl") } else { false }
        }
    }

    @Test func missingStorage() throws {
        var zip = ZipBuilder()
        zip.add("archive/data.pkl", goodPickle)
        try expectRejected(zip.build()) {
            if case .missingArchiveEntry(_, "archive/data/0") = $0 { true } else { false }
        }
    }

    @Test func compressedEntry() throws {
        try expectRejected(archive(pickle: goodPickle, pickleMethod: 8)) {
            if case .compressedEntry(_, "archive/data.pkl", 8) = $0 { true } else { false }
        }
    }

    @Test func bigEndianArchive() throws {
        try expectRejected(archive(pickle: goodPickle, extra: [("archive/byteorder", Array("big".utf8))])) {
            if case .unsupportedByteOrder(_, "big") = $0 { true } else { false }
        }
    }

    @Test func forbiddenGlobalNeverRuns() throws {
        // builtins.eval("__import__('os').system('echo pwned')") as a state dict value.
        let pickle = PickleBuilder.stateDict { builder in
            builder.string("w")
            builder.global("builtins", "eval")
            builder.mark()
            builder.string("__import__('os').system('echo pwned')")
            builder.tuple()
            builder.reduce()
        }
        try expectRejected(archive(pickle: pickle)) {
            if case .forbiddenGlobal(_, "builtins", "eval") = $0 { true } else { false }
        }
    }

    @Test func forbiddenStackGlobal() throws {
        var builder = PickleBuilder()
        builder.string("os")
        builder.string("system")
        builder.op(0x93) // STACK_GLOBAL
        builder.stop()
        try expectRejected(archive(pickle: builder.bytes)) {
            if case .forbiddenGlobal(_, "os", "system") = $0 { true } else { false }
        }
    }

    @Test func tensorReachingPastItsStorage() throws {
        let pickle = PickleBuilder.stateDict { builder in
            builder.string("w")
            builder.tensor(key: "0", storageCount: 4, offset: 2, shape: [2, 2], strides: [2, 1])
        }
        try expectRejected(archive(pickle: pickle)) {
            if case .invalidTensorLayout(_, "w", _) = $0 { true } else { false }
        }
    }

    @Test func storageLargerThanItsEntry() throws {
        let pickle = PickleBuilder.stateDict { builder in
            builder.string("w")
            builder.tensor(key: "0", storageCount: 400, offset: 0, shape: [2], strides: [1])
        }
        try expectRejected(archive(pickle: pickle)) {
            if case .invalidTensorLayout(_, "w", _) = $0 { true } else { false }
        }
    }

    @Test func negativeStride() throws {
        let pickle = PickleBuilder.stateDict { builder in
            builder.string("w")
            builder.tensor(key: "0", storageCount: 4, offset: 3, shape: [2], strides: [-1])
        }
        try expectRejected(archive(pickle: pickle)) {
            if case .invalidTensorLayout(_, "w", _) = $0 { true } else { false }
        }
    }

    @Test func valueThatIsNotATensor() throws {
        let pickle = PickleBuilder.stateDict { builder in
            builder.string("epoch")
            builder.int(3)
        }
        try expectRejected(archive(pickle: pickle)) {
            if case .notAStateDict(_, let reason) = $0 { reason.contains("epoch") } else { false }
        }
    }

    @Test func topLevelIsNotADict() throws {
        var builder = PickleBuilder()
        builder.int(3)
        builder.stop()
        try expectRejected(archive(pickle: builder.bytes)) {
            if case .notAStateDict = $0 { true } else { false }
        }
    }

    @Test(arguments: [
        [0x80, 0x02, 0xFF] as [UInt8], // unknown opcode
        [0x80, 0x09, 0x2E], // unknown protocol
        [0x80, 0x02, 0x2E], // STOP on an empty stack
        [0x80, 0x02, 0x68, 0x05, 0x2E], // BINGET of a key never stored
        [0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x61], // BINUNICODE longer than the pickle
        [0x80, 0x02, 0x8A, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x2E], // 72-bit integer
        [0x80, 0x02, 0x4B, 0x01, 0x4B, 0x02, 0x73, 0x2E], // SETITEM on an integer
        [0x80, 0x02, 0x75, 0x2E], // SETITEMS without MARK
        [0x80, 0x02, 0x63, 0x74, 0x6F, 0x72, 0x63, 0x68], // unterminated GLOBAL
    ])
    func malformedPickle(bytes: [UInt8]) throws {
        try expectRejected(archive(pickle: bytes)) {
            if case .invalidPickle = $0 { true } else { false }
        }
    }

    @Test func shardedBinWithIndex() throws {
        try withTemporaryDirectory { directory in
            try Data(archive(pickle: goodPickle)).write(to: directory.appendingPathComponent("part1.bin"))
            let index = directory.appendingPathComponent("pytorch_model.bin.index.json")
            try Data(#"{"weight_map":{"w":"part1.bin"}}"#.utf8).write(to: index)
            #expect(try Checkpoint(directory: directory).floats("w") == [1, 2, 3, 4])

            try Data(#"{"weight_map":{"w":"part1.bin","v":"part2.bin"}}"#.utf8).write(to: index)
            expectCheckpointError(mentioning: index.path) {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .missingShard(_, "part2.bin") = $0 { true } else { false }
            }

            try Data(#"{"weight_map":{"w":"part1.bin","v":"part1.bin"}}"#.utf8).write(to: index)
            expectCheckpointError(mentioning: "part1.bin") {
                _ = try Checkpoint(directory: directory)
            } matching: {
                if case .tensorMissingFromShard(_, "v") = $0 { true } else { false }
            }
        }
    }

    /// Every truncation of the pickle, and random byte flips anywhere in real torch files, never crash.
    @Test(arguments: ["torch_single", "torch_protocol5", "torch_zip64"])
    func mutatedArchivesNeverCrash(fixture: String) throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.directory(fixture).appendingPathComponent("pytorch_model.bin")))
        var generator = SplitMix64(state: 7)
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("pytorch_model.bin")
            for length in stride(from: 0, to: original.count, by: 7) {
                try Data(original[..<length]).write(to: file)
                #expect(openAndReadAll(directory) is CheckpointError, "truncated to \(length) bytes")
            }
            var refused = 0
            for _ in 0 ..< 300 {
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

    @Test func everyPickleTruncationIsRefused() throws {
        let pickle = goodPickle
        for length in 0 ..< pickle.count {
            try expectRejected(archive(pickle: Array(pickle[..<length]))) {
                if case .invalidPickle = $0 { true } else { false }
            }
        }
    }
}
