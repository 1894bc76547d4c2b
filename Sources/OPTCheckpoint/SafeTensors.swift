import Foundation
import OPTSupport

/// Reads the header of a `.safetensors` file, validating it as the reference Rust crate does.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name
/// to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data region) plus
/// an optional `"__metadata__"` string map, then the data region, which the tensors must tile exactly.
enum SafeTensorsFile {
    /// The crate refuses headers above 100 MB; a larger one means a corrupt length, not a real header.
    static let maxHeaderLength = 100_000_000

    /// Parses and validates the header of a mapped file; the data itself is not read.
    static func parse(_ file: MappedFile, fileIndex: Int) throws -> ParsedWeightFile {
        let url = file.url
        let bytes = file.bytes
        guard let declaredLength = bytes.readLittleEndian(UInt64.self, at: 0) else {
            throw CheckpointError.invalidHeader(url, reason: "file of \(bytes.count) bytes cannot hold the 8-byte header length")
        }
        guard declaredLength <= UInt64(maxHeaderLength), Int(declaredLength) <= bytes.count - 8,
              let headerBytes = bytes.slice(8, Int(declaredLength))
        else {
            throw CheckpointError.headerLengthOutOfRange(url, headerLength: declaredLength, fileSize: bytes.count)
        }
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw CheckpointError.invalidHeader(url, reason: "header does not start with '{'")
        }
        // Foundation's initializer rather than String(validating:), which needs macOS 15.
        guard let text = String(bytes: headerBytes, encoding: .utf8) else {
            throw CheckpointError.invalidHeader(url, reason: "header is not valid UTF-8")
        }
        let header: RawHeader
        do {
            header = try JSONDecoder().decode(RawHeader.self, from: Data(text.utf8))
        } catch let problem as EntryProblem {
            throw CheckpointError.invalidTensorEntry(url, tensor: problem.tensor, reason: problem.reason)
        } catch let problem as MetadataProblem {
            throw CheckpointError.invalidHeader(url, reason: "__metadata__ must map strings to strings (\(problem.reason))")
        } catch {
            throw CheckpointError.invalidHeader(url, reason: DecodingProblem.describe(error, json: Data(text.utf8)))
        }

        let dataStart = 8 + Int(declaredLength)
        let dataSize = bytes.count - dataStart
        var tensors: [String: StoredTensor] = [:]
        var extents: [(name: String, begin: Int, end: Int)] = []
        for (name, entry) in header.entries {
            guard let dtype = TensorDType(rawValue: entry.dtype) else {
                throw CheckpointError.unknownDType(url, tensor: name, dtype: entry.dtype)
            }
            if let negative = entry.shape.first(where: { $0 < 0 }) {
                throw CheckpointError.invalidTensorEntry(url, tensor: name, reason: "negative dimension \(negative) in shape \(entry.shape)")
            }
            guard entry.dataOffsets.count == 2 else {
                throw CheckpointError.invalidTensorEntry(url, tensor: name, reason: "data_offsets must be [begin, end], got \(entry.dataOffsets)")
            }
            let begin = entry.dataOffsets[0]
            let end = entry.dataOffsets[1]
            guard begin >= 0, begin <= end else {
                throw CheckpointError.invalidTensorEntry(url, tensor: name, reason: "data_offsets \(entry.dataOffsets) are not 0 <= begin <= end")
            }
            guard let byteCount = checkedByteCount(entry.shape, dtype), let elementCount = checkedElementCount(entry.shape) else {
                throw CheckpointError.invalidTensorEntry(url, tensor: name, reason: "shape \(entry.shape) overflows")
            }
            guard end - begin == byteCount else {
                throw CheckpointError.sizeMismatch(url, tensor: name, expectedBytes: byteCount, actualBytes: end - begin)
            }
            guard end <= dataSize else {
                throw CheckpointError.offsetsOutOfRange(url, tensor: name, end: end, dataSize: dataSize)
            }
            tensors[name] = StoredTensor(
                info: TensorInfo(name: name, dtype: dtype, shape: entry.shape), fileIndex: fileIndex,
                byteOffset: dataStart + begin, strides: contiguousStrides(entry.shape), elementCount: elementCount)
            extents.append((name, begin, end))
        }

        // The tensors must tile the data region: no byte claimed twice, none left over.
        extents.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous = ""
        for extent in extents {
            if extent.begin < covered {
                throw CheckpointError.overlappingTensors(url, tensor: extent.name, other: previous)
            }
            if extent.begin > covered {
                throw CheckpointError.uncoveredData(url, range: covered ..< extent.begin)
            }
            covered = extent.end
            previous = extent.name
        }
        if covered != dataSize {
            throw CheckpointError.uncoveredData(url, range: covered ..< dataSize)
        }
        return ParsedWeightFile(tensors: tensors, metadata: header.metadata)
    }
}

/// A JSON object key chosen at run time (tensor names).
struct DynamicCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A header entry that failed to decode; carries the tensor name for the error.
private struct EntryProblem: Error {
    var tensor: String
    var reason: String
}

/// `__metadata__` that is not a string map.
private struct MetadataProblem: Error {
    var reason: String
}

private struct RawEntry: Decodable {
    var dtype: String
    var shape: [Int]
    var dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

private struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: RawEntry)] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicCodingKey.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                if try container.decodeNil(forKey: key) { continue }
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw MetadataProblem(reason: DecodingProblem.describe(error))
                }
            } else {
                do {
                    entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
                } catch {
                    throw EntryProblem(tensor: key.stringValue, reason: DecodingProblem.describe(error))
                }
            }
        }
    }
}

