import Foundation

/// The files of one split of a dataset folder, found in any of these layouts (tried in this order):
///
/// 1. a file given directly (the split name is then not checked);
/// 2. a `DatasetDict.save_to_disk` folder: `dataset_dict.json` listing the splits, one `save_to_disk` folder per split;
/// 3. a `Dataset.save_to_disk` folder: `state.json` listing `_data_files` (its `_split`, when set, must match the
///    split unless the folder is named after it), `dataset_info.json` with the features;
/// 4. `<folder>/<split>/` being a `save_to_disk` folder;
/// 5. plain files `<split>.jsonl/.ndjson/.json/.csv/.tsv/.arrow`, or shards `<split>-00000-of-00003.<ext>`;
/// 6. a Hugging Face cache (`<cache>/<name>/<config>/<version>/<hash>/<name>-<split>.arrow`, or sharded
///    `<name>-<split>-00000-of-00003.arrow`), searched up to 6 folders deep; when several folders hold the split,
///    the most recently modified one wins (the newest version/hash). Its `dataset_info.json` gives the features.
///
/// Rows of all the split's files are read in file order (shards sorted by name) as one source.
public struct DatasetSplit: RowSource {
    public enum Layout: String, Sendable {
        case file, datasetDict, saveToDisk, plainFiles, cache
    }

    public let name: String
    /// The folder (or file) it was found in.
    public let root: URL
    public let layout: Layout
    public let files: [DatasetFile]
    /// From `dataset_info.json`, or else the first Arrow file's schema metadata.
    public let features: Features?

    public var urls: [URL] { files.map(\.url) }

    /// Finds split `split` in `folder` and opens its files.
    public static func open(_ folder: URL, split: String) throws(DataError) -> DatasetSplit {
        let (layout, urls, info) = try locate(folder, split: split)
        var files: [DatasetFile] = []
        for url in urls { files.append(try DatasetFile.open(url)) }
        var features: Features? = nil
        if let info, FileManager.default.fileExists(atPath: info.path) { features = try Features.load(datasetInfo: info) }
        if features == nil { features = files.lazy.compactMap(\.features).first }
        return DatasetSplit(name: split, root: folder, layout: layout, files: files, features: features)
    }

    /// Sum of the files' row counts when all are known.
    public var rowCount: Int? {
        var total = 0
        for f in files {
            guard let n = f.rowCount else { return nil }
            total += n
        }
        return total
    }

    public func makeIterator() throws(DataError) -> RowIterator {
        RowIterator(.chain(files, 0, nil))
    }

    public func row(at index: Int) throws(DataError) -> DatasetRow {
        guard index >= 0 else { throw DataError(.rowOutOfRange(index, count: rowCount ?? 0), url: root) }
        var offset = index
        var seen = 0
        for file in files {
            if let n = file.rowCount {
                if offset < n { return try file.row(at: offset) }
                offset -= n
                seen += n
                continue
            }
            let iterator = try file.makeIterator()
            while let row = try iterator.next() {
                if offset == 0 { return row }
                offset -= 1
                seen += 1
            }
        }
        throw DataError(.rowOutOfRange(index, count: seen), url: root)
    }

    // MARK: Finding files

    static let textExtensions = ["jsonl", "ndjson", "json", "csv", "tsv", "arrow"]
    static let maxCacheDepth = 6

    /// The layout, files and `dataset_info.json` of `split` under `folder`.
    static func locate(_ folder: URL, split: String) throws(DataError) -> (Layout, [URL], URL?) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir) else {
            throw DataError(.unreadable("no such file or folder"), url: folder)
        }
        if !isDir.boolValue { return (.file, [folder], nil) }

        let dictJSON = folder.appendingPathComponent("dataset_dict.json")
        if fm.fileExists(atPath: dictJSON.path) {
            let splits = try readJSON(dictJSON)["splits"]?.listValue?.compactMap(\.stringValue) ?? []
            guard splits.contains(split) else { throw DataError(.missingSplit(split, available: splits), url: folder) }
            let (files, info) = try saveToDisk(folder.appendingPathComponent(split))
            return (.datasetDict, files, info)
        }
        if fm.fileExists(atPath: folder.appendingPathComponent("state.json").path) {
            let state = try readJSON(folder.appendingPathComponent("state.json"))
            if let stored = state["_split"]?.stringValue, stored != split, folder.lastPathComponent != split {
                throw DataError(.missingSplit(split, available: [stored]), url: folder)
            }
            let (files, info) = try saveToDisk(folder)
            return (.saveToDisk, files, info)
        }
        let sub = folder.appendingPathComponent(split)
        if fm.fileExists(atPath: sub.appendingPathComponent("state.json").path) {
            let (files, info) = try saveToDisk(sub)
            return (.saveToDisk, files, info)
        }
        let names = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        let plain = names.filter { splitOfPlainFile($0) == split }
        if !plain.isEmpty {
            // One format only: the first extension in `textExtensions` order present.
            let ext = textExtensions.first { e in plain.contains { ($0 as NSString).pathExtension.lowercased() == e } }!
            let chosen = plain.filter { ($0 as NSString).pathExtension.lowercased() == ext }
            return (.plainFiles, chosen.map { folder.appendingPathComponent($0) }, nil)
        }
        var found: [URL: [String]] = [:]
        var available = Set(names.compactMap(splitOfPlainFile))
        searchCache(folder, depth: 0) { dir, file, fileSplit in
            available.insert(fileSplit)
            if fileSplit == split { found[dir, default: []].append(file) }
        }
        if !found.isEmpty {
            let dir = found.keys.max { a, b in
                let da = modificationDate(a), db = modificationDate(b)
                return da != db ? da < db : a.path < b.path
            }!
            let files = found[dir]!.sorted().map { dir.appendingPathComponent($0) }
            return (.cache, files, dir.appendingPathComponent("dataset_info.json"))
        }
        for name in names where fm.fileExists(atPath: folder.appendingPathComponent(name).appendingPathComponent("state.json").path) {
            available.insert(name)
        }
        throw DataError(.missingSplit(split, available: available.sorted()), url: folder)
    }

    /// The split of a plain file name: `train.jsonl` → train, `train-00000-of-00002.arrow` → train.
    static func splitOfPlainFile(_ name: String) -> String? {
        let ns = name as NSString
        guard textExtensions.contains(ns.pathExtension.lowercased()) else { return nil }
        let stem = ns.deletingPathExtension
        if let (base, _) = shardSuffix(stem) { return base }
        return stem.isEmpty || stem.hasPrefix(".") ? nil : stem
    }

    /// `name-00000-of-00003` → ("name", 0).
    static func shardSuffix(_ stem: String) -> (String, Int)? {
        let parts = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 2] == "of",
              let index = Int(parts[parts.count - 3]), Int(parts[parts.count - 1]) != nil else { return nil }
        return (parts.dropLast(3).joined(separator: "-"), index)
    }

    /// The split of a cache file name `<name>-<split>.arrow` or `<name>-<split>-00000-of-00003.arrow`.
    static func splitOfCacheFile(_ name: String) -> String? {
        guard name.hasSuffix(".arrow"), !name.hasPrefix("cache-") else { return nil }
        var stem = String(name.dropLast(6))
        if let (base, _) = shardSuffix(stem) { stem = base }
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        let split = String(stem[stem.index(after: dash)...])
        return split.isEmpty ? nil : split
    }

    private static func searchCache(_ dir: URL, depth: Int, _ visit: (URL, String, String) -> Void) {
        guard depth <= maxCacheDepth,
              let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for name in entries.sorted() where !name.hasPrefix(".") {
            let url = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                searchCache(url, depth: depth + 1, visit)
            } else if depth > 0, let split = splitOfCacheFile(name) {
                visit(dir, name, split)
            }
        }
    }

    private static func modificationDate(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? .distantPast
    }

    /// The data files and `dataset_info.json` of a `save_to_disk` folder.
    private static func saveToDisk(_ folder: URL) throws(DataError) -> ([URL], URL?) {
        let stateURL = folder.appendingPathComponent("state.json")
        let state = try readJSON(stateURL)
        guard let entries = state["_data_files"]?.listValue, !entries.isEmpty else {
            throw DataError(.wrongShape("state.json has no _data_files"), url: stateURL)
        }
        var files: [URL] = []
        for entry in entries {
            guard let name = entry["filename"]?.stringValue, !name.isEmpty, !name.contains("..") else {
                throw DataError(.wrongShape("a _data_files entry without a filename"), url: stateURL)
            }
            files.append(folder.appendingPathComponent(name))
        }
        return (files, folder.appendingPathComponent("dataset_info.json"))
    }

    private static func readJSON(_ url: URL) throws(DataError) -> DatasetValue {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError(.unreadable(error.localizedDescription), url: url) }
        do { return try JSONParser.parse([UInt8](data)) } catch { throw error.dataError(file: url.path) }
    }
}
