import Foundation

/// Why a checkpoint could not be opened, read or written; every case names the file concerned.
public enum CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The directory holds none of the weight files this loader knows.
    case noWeightFiles(directory: URL)
    /// The file could not be opened, mapped or written.
    case fileAccess(URL, reason: String)

    /// The safetensors header length is shorter than 8 bytes, beyond the file, or over the 100 MB limit.
    case headerLengthOutOfRange(URL, headerLength: UInt64, fileSize: Int)
    /// The safetensors header is not UTF-8, not a JSON object, or `__metadata__` is not string to string.
    case invalidHeader(URL, reason: String)
    /// A tensor's dtype is not one this loader knows.
    case unknownDType(URL, tensor: String, dtype: String)
    /// A tensor entry is malformed: negative dimension, wrong `data_offsets`, begin after end.
    case invalidTensorEntry(URL, tensor: String, reason: String)
    /// A tensor's byte range does not match its shape and dtype.
    case sizeMismatch(URL, tensor: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's byte range ends past the data region.
    case offsetsOutOfRange(URL, tensor: String, end: Int, dataSize: Int)
    /// Two tensors claim the same bytes.
    case overlappingTensors(URL, tensor: String, other: String)
    /// Bytes of the data region that no tensor claims (a hole or trailing bytes).
    case uncoveredData(URL, range: Range<Int>)

    /// A `*.index.json` shard index is malformed.
    case invalidIndex(URL, reason: String)
    /// A shard named by an index does not exist.
    case missingShard(index: URL, shard: String)
    /// An index places a tensor in a shard that does not hold it.
    case tensorMissingFromShard(shard: URL, tensor: String)

    /// A `.bin` file is not a readable zip archive.
    case invalidZip(URL, reason: String)
    /// A zip entry is compressed; torch.save stores entries uncompressed.
    case compressedEntry(URL, entry: String, method: UInt16)
    /// A `.bin` file uses the pre-1.6 (non-zip) torch format.
    case legacyTorchFormat(URL)
    /// An entry the torch format requires is absent from the zip.
    case missingArchiveEntry(URL, entry: String)
    /// The archive stores big-endian data.
    case unsupportedByteOrder(URL, byteOrder: String)
    /// The pickle names a global that a state dict never needs; nothing was executed.
    case forbiddenGlobal(URL, module: String, name: String)
    /// The pickle is truncated or uses an opcode or construct this reader does not accept.
    case invalidPickle(URL, offset: Int, reason: String)
    /// The pickle is valid but is not a flat dictionary of named tensors.
    case notAStateDict(URL, reason: String)
    /// A pickled tensor's offset, shape or strides reach outside its storage.
    case invalidTensorLayout(URL, tensor: String, reason: String)

    /// No tensor of that name is in the checkpoint.
    case tensorNotFound(String, directory: URL)
    /// `floats` was asked for a tensor whose dtype is not floating point.
    case unsupportedConversion(URL, tensor: String, dtype: TensorDType)
    /// `SafeTensorsWriter` was given a tensor it cannot write.
    case invalidTensorForWriting(URL, tensor: String, reason: String)

    /// One line naming the file and what is wrong with it.
    public var description: String {
        switch self {
        case .noWeightFiles(let directory):
            return "\(directory.path): no model.safetensors, model.safetensors.index.json, pytorch_model.bin "
                + "or pytorch_model.bin.index.json"
        case .fileAccess(let url, let reason):
            return "\(url.path): \(reason)"
        case .headerLengthOutOfRange(let url, let length, let size):
            return "\(url.path): safetensors header length \(length) does not fit the file of \(size) bytes "
                + "(limit \(SafeTensorsFile.maxHeaderLength))"
        case .invalidHeader(let url, let reason):
            return "\(url.path): invalid safetensors header: \(reason)"
        case .unknownDType(let url, let tensor, let dtype):
            return "\(url.path): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case .invalidTensorEntry(let url, let tensor, let reason):
            return "\(url.path): tensor '\(tensor)': \(reason)"
        case .sizeMismatch(let url, let tensor, let expected, let actual):
            return "\(url.path): tensor '\(tensor)' needs \(expected) bytes for its shape and dtype "
                + "but its data_offsets span \(actual)"
        case .offsetsOutOfRange(let url, let tensor, let end, let dataSize):
            return "\(url.path): tensor '\(tensor)' ends at byte \(end) of a data region of \(dataSize) bytes"
        case .overlappingTensors(let url, let tensor, let other):
            return "\(url.path): tensor '\(tensor)' overlaps tensor '\(other)'"
        case .uncoveredData(let url, let range):
            return "\(url.path): data bytes \(range.lowerBound)..<\(range.upperBound) belong to no tensor"
        case .invalidIndex(let url, let reason):
            return "\(url.path): invalid shard index: \(reason)"
        case .missingShard(let index, let shard):
            return "\(index.path): shard '\(shard)' does not exist"
        case .tensorMissingFromShard(let shard, let tensor):
            return "\(shard.path): the index places tensor '\(tensor)' here but the file does not hold it"
        case .invalidZip(let url, let reason):
            return "\(url.path): not a readable zip archive: \(reason)"
        case .compressedEntry(let url, let entry, let method):
            return "\(url.path): zip entry '\(entry)' is compressed (method \(method)); only stored entries "
                + "are supported, as torch.save writes them"
        case .legacyTorchFormat(let url):
            return "\(url.path): legacy (pre-1.6, non-zip) torch file; re-save it with a current torch.save "
                + "or convert it to safetensors"
        case .missingArchiveEntry(let url, let entry):
            return "\(url.path): zip archive has no entry '\(entry)'"
        case .unsupportedByteOrder(let url, let byteOrder):
            return "\(url.path): tensors are stored \(byteOrder)-endian; only little-endian is supported"
        case .forbiddenGlobal(let url, let module, let name):
            return "\(url.path): pickle refers to '\(module).\(name)', which a state dict never needs; "
                + "refused without executing anything"
        case .invalidPickle(let url, let offset, let reason):
            return "\(url.path): invalid pickle at byte \(offset): \(reason)"
        case .notAStateDict(let url, let reason):
            return "\(url.path): not a state dict: \(reason)"
        case .invalidTensorLayout(let url, let tensor, let reason):
            return "\(url.path): tensor '\(tensor)': \(reason)"
        case .tensorNotFound(let name, let directory):
            return "\(directory.path): no tensor named '\(name)'"
        case .unsupportedConversion(let url, let tensor, let dtype):
            return "\(url.path): tensor '\(tensor)' has dtype \(dtype.rawValue), which does not convert to Float32"
        case .invalidTensorForWriting(let url, let tensor, let reason):
            return "\(url.path): cannot write tensor '\(tensor)': \(reason)"
        }
    }
}
