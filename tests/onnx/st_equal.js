// Compare the tensors of two safetensors files bit for bit: the same
// names, dtypes, shapes and bytes (metadata and optimizer state aside).  Exits 0 when equal,
// 1 with the first difference on stderr.
//
// usage: node tests/onnx/st_equal.js A.safetensors B.safetensors
'use strict';
const fs = require('fs');

function load(path) {
    const buf = fs.readFileSync(path);
    const len = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8'));
    delete header.__metadata__;
    // the training state a netc checkpoint may carry is not the model's
    for (const k of Object.keys(header)) if (k.startsWith('optim.')) delete header[k];
    const data = buf.subarray(8 + len);
    const tensors = {};
    for (const [name, t] of Object.entries(header))
        tensors[name] = { dtype: t.dtype, shape: t.shape.join('x'), bytes: data.subarray(t.data_offsets[0], t.data_offsets[1]) };
    return tensors;
}

const [a, b] = process.argv.slice(2).map(load);
const names = Object.keys(a).sort();
if (names.join() !== Object.keys(b).sort().join()) {
    console.error(`tensors differ: ${names.join(' ')} / ${Object.keys(b).sort().join(' ')}`);
    process.exit(1);
}
for (const n of names) {
    if (a[n].dtype !== b[n].dtype || a[n].shape !== b[n].shape || !a[n].bytes.equals(b[n].bytes)) {
        console.error(`tensor ${n} differs (${a[n].dtype} ${a[n].shape} / ${b[n].dtype} ${b[n].shape})`);
        process.exit(1);
    }
}
console.log(`${names.length} tensors equal`);
