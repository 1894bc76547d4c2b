import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}")
            offset += tensor.bytes.count
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // Space padding, as the crate uses, makes the data region start on an 8-byte boundary.
        headerBytes += [UInt8](repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8)

        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw CheckpointError.fileAccess(temporary, reason: "cannot create")
        }
        var renamed = false
        defer {
            if !renamed { try? FileManager.default.removeItem(at: temporary) }
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            var length = UInt64(headerBytes.count).littleEndian
            try handle.write(contentsOf: Data(bytes: &length, count: 8))
            try handle.write(contentsOf: headerBytes)
            for tensor in ordered {
                try handle.write(contentsOf: tensor.bytes)
            }
            try handle.synchronize()
        } catch {
            throw CheckpointError.fileAccess(temporary, reason: "cannot write: \(error.localizedDescription)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            throw CheckpointError.fileAccess(url, reason: "cannot move the finished file into place: \(String(cString: strerror(errno)))")
        }
        renamed = true
    }

    /// `text` as a JSON string literal.
    private static func jsonString(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                escaped += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
