import Foundation

/// Weights of a Hugging Face checkpoint directory (safetensors or pytorch_model.bin, single or sharded).
///
/// Opening maps the weight files and parses only their headers (safetensors JSON, torch pickles);
/// tensor data is read from the maps on demand, so opening a multi-gigabyte model is fast and
/// copies nothing. The maps live as long as the `Checkpoint`. Immutable after `init`, hence Sendable.
public final class Checkpoint: @unchecked Sendable {
    /// The on-disk format of the weight files.
    public enum Format: String, Sendable {
        /// `model.safetensors` or its shards.
        case safetensors
        /// `pytorch_model.bin` (torch.save zip) or its shards.
        case pytorch
    }

    /// The directory the checkpoint was opened from.
    public let directory: URL
    /// Which format was found (safetensors is preferred when both are present).
    public let format: Format
    /// The weight files that are mapped, in shard order.
    public let weightFiles: [URL]
    /// The safetensors `__metadata__` of all files merged (empty for torch files).
    public let metadata: [String: String]
    /// Names of every tensor, as stored (with or without the `model.` prefix), sorted.
    public let tensorNames: [String]

    private let files: [MappedFile]
    private let tensors: [String: StoredTensor]

    /// Opens the weight files in `directory`: the first of `model.safetensors`,
    /// `model.safetensors.index.json`, `pytorch_model.bin`, `pytorch_model.bin.index.json` that exists.
    public init(directory: URL) throws {
        self.directory = directory
        let candidates: [(name: String, format: Format, sharded: Bool)] = [
            ("model.safetensors", .safetensors, false),
            ("model.safetensors.index.json", .safetensors, true),
            ("pytorch_model.bin", .pytorch, false),
            ("pytorch_model.bin.index.json", .pytorch, true),
        ]
        guard let found = candidates.first(where: {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.name).path)
        }) else {
            throw CheckpointError.noWeightFiles(directory: directory)
        }
        let url = directory.appendingPathComponent(found.name)
        let parse = found.format == .safetensors ? SafeTensorsFile.parse : TorchArchive.parse
        format = found.format

        if !found.sharded {
            let file = try MappedFile(url: url)
            let parsed = try parse(file, 0)
            files = [file]
            tensors = parsed.tensors
            metadata = parsed.metadata
        } else {
            let index = try ShardIndex(url: url)
            let shardNames = Set(index.weightMap.values).sorted()
            var files: [MappedFile] = []
            var parsedShards: [String: (url: URL, parsed: ParsedWeightFile)] = [:]
            var metadata: [String: String] = [:]
            for shardName in shardNames {
                let shardURL = directory.appendingPathComponent(shardName)
                guard FileManager.default.fileExists(atPath: shardURL.path) else {
                    throw CheckpointError.missingShard(index: url, shard: shardName)
                }
                let file = try MappedFile(url: shardURL)
                let parsed = try parse(file, files.count)
                files.append(file)
                parsedShards[shardName] = (shardURL, parsed)
                metadata.merge(parsed.metadata) { first, _ in first }
            }
            // The index is the authority: a shard's tensors that it does not list are not part of the model.
            var tensors: [String: StoredTensor] = [:]
            for (name, shardName) in index.weightMap {
                guard let shard = parsedShards[shardName] else { continue }
                guard let tensor = shard.parsed.tensors[name] else {
                    throw CheckpointError.tensorMissingFromShard(shard: shard.url, tensor: name)
                }
                tensors[name] = tensor
            }
            self.files = files
            self.tensors = tensors
            self.metadata = metadata
        }
        weightFiles = files.map(\.url)
        tensorNames = tensors.keys.sorted()
    }

    /// Opens one safetensors file that is not a model's weights (a training run's optimizer state).
    public init(safetensorsFile url: URL) throws {
        directory = url.deletingLastPathComponent()
        format = .safetensors
        let file = try MappedFile(url: url)
        let parsed = try SafeTensorsFile.parse(file, fileIndex: 0)
        files = [file]
        tensors = parsed.tensors
        metadata = parsed.metadata
        weightFiles = [url]
        tensorNames = tensors.keys.sorted()
    }

    /// dtype and shape of a tensor, nil when absent.
    public func info(_ name: String) -> TensorInfo? {
        tensors[name]?.info
    }

    /// The tensor's values converted to Float32, row-major contiguous.
    ///
    /// Accepts F32, F16, BF16 and F64 tensors; any other dtype throws `unsupportedConversion`.
    public func floats(_ name: String) throws -> [Float] {
        let tensor = try stored(name)
        guard tensor.info.dtype.convertsToFloat else {
            throw CheckpointError.unsupportedConversion(files[tensor.fileIndex].url, tensor: name, dtype: tensor.info.dtype)
        }
        return try withRawBytes(name) { raw in
            [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, initialized in
                FloatConversion.convert(raw, dtype: tensor.info.dtype, into: buffer)
                initialized = tensor.elementCount
            }
        }
    }

    /// Calls `body` with the tensor's bytes as stored (its dtype, little-endian, row-major contiguous).
    ///
    /// For contiguous tensors — all safetensors tensors and nearly all torch ones — the buffer is the
    /// memory map itself: no copy, valid only during `body`, and possibly unaligned (load with
    /// `loadUnaligned`). A non-contiguous torch view (a transposed or strided tensor) is first gathered
    /// into a temporary contiguous buffer.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let tensor = try stored(name)
        let file = files[tensor.fileIndex]
        let elementSize = tensor.info.dtype.size
        let byteCount = tensor.elementCount * elementSize
        if tensor.isContiguous {
            // Bounds were checked when the file was opened.
            return try body(UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteOffset ..< tensor.byteOffset + byteCount]))
        }
        var gathered = [UInt8](repeating: 0, count: byteCount)
        gathered.withUnsafeMutableBytes { destination in
            Self.gather(tensor, from: file.bytes, into: destination)
        }
        return try gathered.withUnsafeBytes(body)
    }

    /// The tensor's bytes inside the memory map, valid for as long as this `Checkpoint` lives,
    /// or nil for a non-contiguous torch view (use `withRawBytes`, which gathers it).
    ///
    /// This is how a model keeps weights in the map instead of copying them: it holds the
    /// `Checkpoint` alongside the pointer.
    public func mappedBytes(_ name: String) throws -> UnsafeRawBufferPointer? {
        let tensor = try stored(name)
        guard tensor.isContiguous else { return nil }
        let byteCount = tensor.elementCount * tensor.info.dtype.size
        return UnsafeRawBufferPointer(rebasing: files[tensor.fileIndex].bytes[tensor.byteOffset ..< tensor.byteOffset + byteCount])
    }

    /// Lets the kernel drop the memory-mapped pages of a tensor that was converted to another format, so
    /// that a checkpoint converted at load does not keep both copies resident. The bytes stay readable
    /// (from the file again).
    /// `bytes` narrows it to part of the tensor's bytes (all of them when nil).
    public func releasePages(of name: String, bytes: Range<Int>? = nil) throws {
        let tensor = try stored(name)
        guard tensor.isContiguous else { return }
        let all = 0 ..< tensor.elementCount * tensor.info.dtype.size
        let part = bytes?.clamped(to: all) ?? all
        files[tensor.fileIndex].release((tensor.byteOffset + part.lowerBound) ..< (tensor.byteOffset + part.upperBound))
    }

    private func stored(_ name: String) throws -> StoredTensor {
        guard let tensor = tensors[name] else { throw CheckpointError.tensorNotFound(name, directory: directory) }
        return tensor
    }

    /// Copies a strided view element by element into row-major order, walking the index like an odometer.
    private static func gather(_ tensor: StoredTensor, from source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) {
        let shape = tensor.info.shape
        let elementSize = tensor.info.dtype.size
        let byteStrides = tensor.strides.map { $0 * elementSize }
        var index = [Int](repeating: 0, count: shape.count)
        var sourceOffset = tensor.byteOffset
        for element in 0 ..< tensor.elementCount {
            let target = element * elementSize
            destination[target ..< target + elementSize].copyBytes(from: source[sourceOffset ..< sourceOffset + elementSize])
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                sourceOffset += byteStrides[axis]
                if index[axis] < shape[axis] { break }
                sourceOffset -= shape[axis] * byteStrides[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
