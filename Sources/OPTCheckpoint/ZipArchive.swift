import Foundation

/// The entries of a zip archive read from its central directory, over a memory map.
///
/// Only what torch.save writes is supported: one disk, stored (uncompressed) entries, ZIP64
/// records for archives or entries past 4 GiB. Entry data is never copied.
struct ZipArchive {
    /// One file inside the archive.
    struct Entry {
        /// Path inside the archive.
        var name: String
        /// Offset of the entry's data from the start of the archive file.
        var dataOffset: Int
        /// Stored size in bytes.
        var size: Int
        /// Compression method; 0 means stored.
        var method: UInt16
    }

    /// The archive's mapped file.
    let file: MappedFile
    /// Entries by name, in central-directory order.
    let entries: [Entry]
    private let entryIndex: [String: Int]

    private static let endRecordSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndRecordSignature: UInt32 = 0x0606_4B50
    private static let centralHeaderSignature: UInt32 = 0x0201_4B50
    private static let localHeaderSignature: UInt32 = 0x0403_4B50
    private static let zip64ExtraID: UInt16 = 0x0001

    init(_ file: MappedFile) throws {
        self.file = file
        let bytes = file.bytes
        let url = file.url
        func fail(_ reason: String) -> CheckpointError { .invalidZip(url, reason: reason) }
        func u16(_ offset: Int) throws -> UInt16 {
            guard let value = bytes.readLittleEndian(UInt16.self, at: offset) else { throw fail("truncated at byte \(offset)") }
            return value
        }
        func u32(_ offset: Int) throws -> UInt32 {
            guard let value = bytes.readLittleEndian(UInt32.self, at: offset) else { throw fail("truncated at byte \(offset)") }
            return value
        }
        func u64(_ offset: Int) throws -> Int {
            guard let value = bytes.readLittleEndian(UInt64.self, at: offset) else { throw fail("truncated at byte \(offset)") }
            guard let int = Int(exactly: value) else { throw fail("64-bit field at byte \(offset) is out of range") }
            return int
        }

        // The end record sits in the last 22 + 65535 (maximal comment) bytes.
        guard let endRecord = Self.findEndRecord(bytes) else { throw fail("no end-of-central-directory record (truncated?)") }
        var disks = [Int(try u16(endRecord + 4)), Int(try u16(endRecord + 6))]
        var entryCount = Int(try u16(endRecord + 10))
        var directorySize = Int(try u32(endRecord + 12))
        var directoryOffset = Int(try u32(endRecord + 16))

        // With ZIP64 the classic record's fields may all be 0xFFFF…, so the ZIP64 record is authoritative.
        let locator = endRecord - 20
        if locator >= 0, try u32(locator) == Self.zip64LocatorSignature {
            let record = try u64(locator + 8)
            guard try u32(record) == Self.zip64EndRecordSignature else { throw fail("ZIP64 locator points at byte \(record), which holds no ZIP64 end record") }
            disks = [Int(try u32(record + 16)), Int(try u32(record + 20))]
            entryCount = try u64(record + 32)
            directorySize = try u64(record + 40)
            directoryOffset = try u64(record + 48)
        } else if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw fail("end record defers to a ZIP64 record that is missing")
        }
        guard disks == [0, 0] else { throw fail("multi-disk archives are not supported") }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail("central directory (\(directorySize) bytes at \(directoryOffset)) extends past the end of the file")
        }
        // Each central header is at least 46 bytes, which bounds a forged entry count.
        guard entryCount <= directorySize / 46 else { throw fail("\(entryCount) entries cannot fit in a central directory of \(directorySize) bytes") }

        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        var position = directoryOffset
        for _ in 0 ..< entryCount {
            guard try u32(position) == Self.centralHeaderSignature else { throw fail("bad central directory header at byte \(position)") }
            let flags = try u16(position + 8)
            let method = try u16(position + 10)
            var compressedSize = Int(try u32(position + 20))
            var size = Int(try u32(position + 24))
            let nameLength = Int(try u16(position + 28))
            let extraLength = Int(try u16(position + 30))
            let commentLength = Int(try u16(position + 32))
            var localOffset = Int(try u32(position + 42))
            guard let nameBytes = bytes.slice(position + 46, nameLength),
                  let extra = bytes.slice(position + 46 + nameLength, extraLength)
            else { throw fail("central directory entry at byte \(position) is truncated") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard flags & 1 == 0 else { throw fail("entry '\(name)' is encrypted") }

            // A ZIP64 extra field holds, in this order, exactly the fields whose 32-bit slot is 0xFFFFFFFF.
            if size == 0xFFFF_FFFF || compressedSize == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                guard let zip64 = Self.extraField(Self.zip64ExtraID, in: extra) else { throw fail("entry '\(name)' lacks its ZIP64 extra field") }
                var field = 0
                func next() throws -> Int {
                    guard let value = zip64.readLittleEndian(UInt64.self, at: field), let int = Int(exactly: value) else {
                        throw fail("ZIP64 extra field of entry '\(name)' is too short or out of range")
                    }
                    field += 8
                    return int
                }
                if size == 0xFFFF_FFFF { size = try next() }
                if compressedSize == 0xFFFF_FFFF { compressedSize = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
            }

            // The local header repeats name and extra with possibly different lengths (torch pads its extra to align data).
            guard try u32(localOffset) == Self.localHeaderSignature else { throw fail("entry '\(name)' has no local header at byte \(localOffset)") }
            let dataOffset = localOffset + 30 + Int(try u16(localOffset + 26)) + Int(try u16(localOffset + 28))
            guard dataOffset <= bytes.count, compressedSize <= bytes.count - dataOffset else {
                throw fail("data of entry '\(name)' (\(compressedSize) bytes at \(dataOffset)) extends past the end of the file")
            }
            if method == 0, compressedSize != size {
                throw fail("stored entry '\(name)' has compressed size \(compressedSize) but size \(size)")
            }
            entries.append(Entry(name: name, dataOffset: dataOffset, size: compressedSize, method: method))
            position += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        entryIndex = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The entry named `name`, nil when absent.
    func entry(_ name: String) -> Entry? {
        entryIndex[name].map { entries[$0] }
    }

    /// The stored bytes of `entry`, straight from the map.
    func data(of entry: Entry) throws -> UnsafeRawBufferPointer {
        guard entry.method == 0 else { throw CheckpointError.compressedEntry(file.url, entry: entry.name, method: entry.method) }
        guard let data = file.bytes.slice(entry.dataOffset, entry.size) else {
            throw CheckpointError.invalidZip(file.url, reason: "entry '\(entry.name)' extends past the end of the file")
        }
        return data
    }

    /// Offset of the end-of-central-directory record, searched backwards; nil when absent.
    private static func findEndRecord(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 22 else { return nil }
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var offset = bytes.count - 22
        while offset >= lowest {
            if bytes.readLittleEndian(UInt32.self, at: offset) == endRecordSignature,
               let commentLength = bytes.readLittleEndian(UInt16.self, at: offset + 20),
               offset + 22 + Int(commentLength) <= bytes.count {
                return offset
            }
            offset -= 1
        }
        return nil
    }

    /// The payload of the extra field `id`, nil when absent or malformed.
    private static func extraField(_ id: UInt16, in extra: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var position = 0
        while let fieldID = extra.readLittleEndian(UInt16.self, at: position),
              let length = extra.readLittleEndian(UInt16.self, at: position + 2) {
            guard let payload = extra.slice(position + 4, Int(length)) else { return nil }
            if fieldID == id { return payload }
            position += 4 + Int(length)
        }
        return nil
    }
}
