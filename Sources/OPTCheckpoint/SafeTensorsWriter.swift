import Foundation
import OPTSupport

/// Writes a safetensors file atomically (temp file + rename), 8-byte-aligned data, optional __metadata__.
public enum SafeTensorsWriter {
    /// Writes `tensors` (raw little-endian bytes, row-major) and `metadata` to `url`.
    ///
    /// Tensors are laid out largest element size first, as the reference crate does, so that with
    /// the data region starting 8-byte aligned every tensor is aligned to its own element size. The
    /// file appears at `url` only once complete; an existing file there is replaced.
    public static func write(
        _ tensors: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])],
        metadata: [String: String] = [:],
        to url: URL
    ) throws {
        var seen = Set<String>()
        for tensor in tensors {
            func fail(_ reason: String) -> CheckpointError {
                .invalidTensorForWriting(url, tensor: tensor.name, reason: reason)
            }
            guard tensor.name != "__metadata__" else { throw fail("the name is reserved") }
            guard seen.insert(tensor.name).inserted else { throw fail("the name appears twice") }
            guard let byteCount = checkedByteCount(tensor.shape, tensor.dtype) else {
                throw fail("shape \(tensor.shape) has a negative dimension or overflows")
            }
            guard byteCount == tensor.bytes.count else {
                throw fail("shape \(tensor.shape) of \(tensor.dtype.rawValue) needs \(byteCount) bytes, got \(tensor.bytes.count)")
            }
        }
        let ordered = tensors.enumerated()
            .sorted { ($1.element.dtype.size, $0.offset) < ($0.element.dtype.size, $1.offset) }
            .map(\.element)

        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(JSONText.quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Space padding, as the crate uses, makes the data region start on an 8-byte boundary.
        headerBytes += [UInt8](repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)

        do {
            try AtomicFile.write(to: url) { handle in
                var length = UInt64(headerBytes.count).littleEndian
                try handle.write(contentsOf: Data(bytes: &length, count: 8))
                try handle.write(contentsOf: headerBytes)
                for tensor in ordered {
                    try handle.write(contentsOf: tensor.bytes)
                }
            }
        } catch let error as AtomicFileError {
            throw CheckpointError.fileAccess(url, reason: error.reason)
        } catch {
            throw CheckpointError.fileAccess(url, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
