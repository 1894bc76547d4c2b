import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file sequentially in chunks with a bounded buffer, a byte at a time, for CSV (JSONL's lines: `JSONLinesReader`).
final class ByteReader {
    static let chunkSize = 1 << 16

    let url: URL
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0         // first unconsumed byte in buffer
    private var eof = false

    init(_ url: URL) throws(DataError) {
        self.url = url
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            throw DataError(.unreadable("is a folder"), url: url)
        }
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw DataError(.unreadable(String(cString: strerror(errno))), url: url) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Reads one more chunk into the buffer; false at the end of the file.
    private func fill() throws(DataError) -> Bool {
        if eof { return false }
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        let old = buffer.count
        buffer.reserveCapacity(old + Self.chunkSize)
        buffer.append(contentsOf: repeatElement(0, count: Self.chunkSize))
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, Self.chunkSize) }
        } while n < 0 && errno == EINTR
        if n < 0 {
            buffer.removeLast(Self.chunkSize)
            throw DataError(.unreadable(String(cString: strerror(errno))), url: url)
        }
        buffer.removeLast(Self.chunkSize - n)
        if n == 0 { eof = true; return false }
        return true
    }

    /// The next byte, or nil at the end of the file.
    @inline(__always)
    func nextByte() throws(DataError) -> UInt8? {
        if start < buffer.count {
            let b = buffer[start]
            start += 1
            return b
        }
        guard try fill(), start < buffer.count else { return nil }
        let b = buffer[start]
        start += 1
        return b
    }

    /// Consumes `prefix` if the unread bytes start with it.
    func skip(prefix: [UInt8]) throws(DataError) -> Bool {
        while buffer.count - start < prefix.count {
            if try !fill() { break }
        }
        guard buffer.count - start >= prefix.count, buffer[start..<(start + prefix.count)].elementsEqual(prefix) else { return false }
        start += prefix.count
        return true
    }

    /// The next byte without consuming it.
    func peekByte() throws(DataError) -> UInt8? {
        if start < buffer.count { return buffer[start] }
        guard try fill(), start < buffer.count else { return nil }
        return buffer[start]
    }
}

/// `bytes` as a String when they are valid UTF-8, else nil. (`String(validating:as:)` needs macOS 15.)
@inline(__always)
func validUTF8<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
    let s = String(decoding: bytes, as: UTF8.self)
    return s.utf8.elementsEqual(bytes) ? s : nil
}
