import Foundation
import OPTSupport

/// Writes a safetensors file atomically (temp file + rename), 8-byte-aligned data, optional __metadata__.
///
/// Tensor data is streamed to the file in pieces of `pieceBytes`, straight from where it lives (or
/// from a producer), so that saving a model does not hold a second copy of it.
public enum SafeTensorsWriter {
    /// The most bytes handed to the file (or a producer) at once.
    static let pieceBytes = 16 << 20

    /// One tensor to write: its name, dtype, shape and where its raw little-endian, row-major bytes come from.
    ///
    /// A pointer given here must stay valid until `write` returns.
    public struct Tensor {
        public let name: String
        public let dtype: TensorDType
        public let shape: [Int]
        let source: Source

        enum Source {
            case bytes([UInt8])
            case pointer(UnsafeRawPointer)
            case producer((UnsafeMutableRawBufferPointer) -> Void)
        }

        /// The bytes of an array.
        public init(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8]) {
            self.init(name, dtype, shape, .bytes(bytes))
        }

        /// The bytes at `pointer`, as many as `shape` and `dtype` need.
        public init(name: String, dtype: TensorDType, shape: [Int], pointer: UnsafeRawPointer) {
            self.init(name, dtype, shape, .pointer(pointer))
        }

        /// Bytes made on demand: `produce` is called with consecutive pieces of the data, in order, each a
        /// whole number of elements, and fills each.
        public init(name: String, dtype: TensorDType, shape: [Int], produce: @escaping (UnsafeMutableRawBufferPointer) -> Void) {
            self.init(name, dtype, shape, .producer(produce))
        }

        private init(_ name: String, _ dtype: TensorDType, _ shape: [Int], _ source: Source) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.source = source
        }
    }

    /// Writes `tensors` (raw little-endian bytes, row-major) and `metadata` to `url`.
    public static func write(
        _ tensors: [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])],
        metadata: [String: String] = [:],
        to url: URL
    ) throws {
        try write(tensors.map { Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes) }, metadata: metadata, to: url)
    }

    /// Writes `tensors` and `metadata` to `url`.
    ///
    /// Tensors are laid out largest element size first, as the reference crate does, so that with
    /// the data region starting 8-byte aligned every tensor is aligned to its own element size. The
    /// file appears at `url` only once complete; an existing file there is replaced.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        var seen = Set<String>()
        var byteCounts: [Int] = []
        for tensor in tensors {
            func fail(_ reason: String) -> CheckpointError {
                .invalidTensorForWriting(url, tensor: tensor.name, reason: reason)
            }
            guard tensor.name != "__metadata__" else { throw fail("the name is reserved") }
            guard seen.insert(tensor.name).inserted else { throw fail("the name appears twice") }
            guard let byteCount = checkedByteCount(tensor.shape, tensor.dtype) else {
                throw fail("shape \(tensor.shape) has a negative dimension or overflows")
            }
            if case .bytes(let bytes) = tensor.source, byteCount != bytes.count {
                throw fail("shape \(tensor.shape) of \(tensor.dtype.rawValue) needs \(byteCount) bytes, got \(bytes.count)")
            }
            byteCounts.append(byteCount)
        }
        let ordered = zip(tensors, byteCounts).enumerated()
            .sorted { ($1.element.0.dtype.size, $0.offset) < ($0.element.0.dtype.size, $1.offset) }
            .map(\.element)

        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(JSONText.quoted($0.key)):\(JSONText.quoted($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (tensor, byteCount) in ordered {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(JSONText.quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(offset + byteCount)]}")
            offset += byteCount
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
                // Allocated only if a producer needs it, and shared by all of them.
                var scratch: UnsafeMutableRawBufferPointer?
                defer { scratch?.deallocate() }
                for (tensor, byteCount) in ordered {
                    switch tensor.source {
                    case .bytes(let bytes):
                        try bytes.withUnsafeBytes { try writePieces(of: $0, to: handle) }
                    case .pointer(let pointer):
                        try writePieces(of: UnsafeRawBufferPointer(start: pointer, count: byteCount), to: handle)
                    case .producer(let produce):
                        let buffer = scratch ?? .allocate(byteCount: pieceBytes, alignment: 16)
                        scratch = buffer
                        // A whole number of elements a piece (pieceBytes is a multiple of every element size).
                        for start in stride(from: 0, to: byteCount, by: pieceBytes) {
                            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(pieceBytes, byteCount - start)])
                            produce(piece)
                            try writePieces(of: UnsafeRawBufferPointer(piece), to: handle)
                        }
                    }
                }
            }
        } catch let error as AtomicFileError {
            throw CheckpointError.fileAccess(url, reason: error.reason)
        } catch {
            throw CheckpointError.fileAccess(url, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Hands `bytes` to the file without copying them, a piece at a time.
    private static func writePieces(of bytes: UnsafeRawBufferPointer, to handle: FileHandle) throws {
        guard let base = bytes.baseAddress else { return }
        for start in stride(from: 0, to: bytes.count, by: pieceBytes) {
            let count = min(pieceBytes, bytes.count - start)
            try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base + start), count: count, deallocator: .none))
        }
    }
}
