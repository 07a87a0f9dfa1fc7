// Docker pieces more than one plugin uses (the stack runtime and the proxy provisioners).
export { lazyDocker } from './lazy-docker.ts'
export { ensureImage, hasImage, withTag, type PullProgress } from './images.ts'
export { publish } from './publish.ts'
