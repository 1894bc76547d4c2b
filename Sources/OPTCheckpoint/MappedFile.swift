import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if !_endian(little)
#error("OPTCheckpoint reads little-endian tensor data in place and needs a little-endian host")
#endif

/// A read-only memory map of a whole file, unmapped when the last reference goes away.
///
/// Weights are read in place from the map, so opening a multi-gigabyte checkpoint costs only
/// the pages that are touched. The file must not be truncated while mapped (the kernel would
/// raise SIGBUS on access), which holds for checkpoints that are only read.
final class MappedFile: @unchecked Sendable {
    /// The file that is mapped.
    let url: URL
    /// The file's bytes; empty (nil base address) for an empty file, which mmap cannot map.
    let bytes: UnsafeRawBufferPointer

    init(url: URL) throws {
        self.url = url
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CheckpointError.fileAccess(url, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CheckpointError.fileAccess(url, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CheckpointError.fileAccess(url, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw CheckpointError.fileAccess(url, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Hands the whole pages inside `range` back to the kernel: they leave the process's resident memory
    /// and are read from the file again if touched. For a tensor that was converted at load, so that its
    /// source bytes do not stay resident beside the converted copy.
    func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, range.lowerBound >= 0, range.upperBound <= bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: base) + range.lowerBound, end = Int(bitPattern: base) + range.upperBound
        let first = (start + page - 1) / page * page, last = end / page * page
        guard first < last, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        // Advice only: a kernel that declines leaves the pages resident, which is merely more memory.
        _ = madvise(address, last - first, Int32(MADV_DONTNEED))
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`, nil when it would reach outside the buffer.
    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// The bytes `offset ..< offset + length`, nil when that range is not inside the buffer.
    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[offset ..< offset + length])
    }
}
